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
  return `${e.path ?? ''}: ${fsProblem(e) ?? `${e.code} (${e.syscall})`}`;
}

/**
 * What a file-system error means, in words for a message after the path ("no such file"), or
 * undefined when `err` carries no error code. `expected` names the kind of file wanted.
 */
export function fsProblem(err: unknown, expected = 'a file'): string | undefined {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'ENOTDIR': return 'no such file (a part of the path is not a directory)';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return `is a directory, expected ${expected}`;
    case 'ELOOP': return 'too many symbolic links';
    case 'ENAMETOOLONG': return 'the path is too long';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'read-only file system';
    default: return typeof code === 'string' ? `cannot read it (${code})` : undefined;
  }
}
