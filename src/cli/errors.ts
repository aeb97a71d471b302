// The one place errors become output: expected errors print one line on stderr (the hint on the
// same line) with exit code 1; anything else is a bug and prints its stack.
import type { Command } from 'commander';
import { MnistError } from '../engine/errors.ts';

let cleanup: (() => void) | undefined;

/** Registers what to stop (spinner, bars) before an error is printed. */
export function onErrorCleanup(fn: () => void): void {
  cleanup = fn;
}

export function reportError(err: unknown): void {
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

/** A reader that went away (`mnist-train | head`) ends the command quietly, as SIGPIPE would. */
function exitOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
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
  const p = e.path ?? '';
  switch (e.code) {
    case 'ENOENT': return `${p}: no such file or directory`;
    case 'EACCES':
    case 'EPERM': return `${p}: permission denied`;
    case 'EISDIR': return `${p}: is a directory, expected a file`;
    case 'ENOTDIR': return `${p}: a part of the path is not a directory`;
    case 'ENOSPC': return `${p}: no space left on the device`;
    case 'EROFS': return `${p}: read-only file system`;
    default: return `${p}: ${e.code} (${e.syscall})`;
  }
}
