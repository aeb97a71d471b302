// The one place errors become output: expected errors print one line on stderr (the hint on the
// same line) with exit code 1; anything else is a bug and prints its stack.
import type { Command } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { fsReason } from './fs-reason.ts';

let cleanup: (() => void) | undefined;

/** Registers what to stop (spinner, bars) before an error is printed. */
export function onErrorCleanup(fn: () => void): void {
  cleanup = fn;
}

function reportError(err: unknown): void {
  try {
    cleanup?.();
  } catch {
    // the terminal is in whatever state it is; the message matters more
  }
  if (err instanceof MnistError) {
    process.stderr.write(`error: ${oneLine(err.message)}${err.hint ? `; hint: ${oneLine(err.hint)}` : ''}\n`);
  } else if (isNodeFsError(err)) {
    process.stderr.write(`error: ${describeFsError(err)}\n`);
  } else {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.stderr.write('error: an unexpected error occurred; this is a bug in mnist-ts, please report it with the lines above\n');
  }
  process.exitCode = 1;
}

/** Joins a message's lines, so every error is one line in a terminal, a CI log and a script. */
function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, ' ');
}

/** Commander's usage errors on one line too, with the pointer to --help at its end. */
export function oneLineUsageErrors(cmd: Command): Command {
  return cmd.configureOutput({
    outputError: (str, write) => write(`${oneLine(str)} (run ${cmd.name()} --help for usage)\n`),
  });
}

/** Exit code of a command whose stdout reader went away outside a training run (128 + SIGPIPE). */
const BROKEN_PIPE_EXIT_CODE = 141;

let brokenPipe: (() => void) | undefined;

/** What a closed stdout does while set (mnist-train: stop and save, like Ctrl-C); unset: exit 141. */
export function onBrokenPipe(fn: (() => void) | undefined): void {
  brokenPipe = fn;
}

/**
 * A reader that went away (`mnist-eval | head`) ends the command with a non-zero exit, as
 * SIGPIPE would, so a script does not take a cut-off run for a complete one.
 */
function exitOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    if (stream === process.stdout && brokenPipe) return brokenPipe();
    // stderr gone too, or a command with nothing to save: nothing more can be said
    process.exit(process.exitCode || BROKEN_PIPE_EXIT_CODE);
  });
}

/** Runs a command's main function, turning every thrown error into output and exit code 1. */
export async function runCommand(main: () => Promise<void>): Promise<void> {
  exitOnBrokenPipe(process.stdout);
  exitOnBrokenPipe(process.stderr);
  try {
    await main();
  } catch (err) {
    reportError(err);
  }
}

interface NodeFsError extends Error {
  code: string;
  path?: string;
  syscall?: string;
}

function isNodeFsError(e: unknown): e is NodeFsError {
  return e instanceof Error && typeof (e as NodeFsError).code === 'string' && typeof (e as NodeFsError).syscall === 'string';
}

function describeFsError(e: NodeFsError): string {
  const reason = fsReason(e) ?? e.code;
  return e.path ? `${e.path}: ${reason}` : `${reason} (${e.syscall})`;
}
