// The one writer for every output file (weights, reports, PNGs), and the one check of a command's
// outputs before any work: never replace a device, a FIFO or an input, never race another run.
//
// Writes go to a temporary file beside the target, named `.NAME.PID.mnist-ts-tmp`; every write's
// length is checked, the file is fsynced and renamed over the target only when complete, so a
// reader (or a kill -9 at any moment) sees the old complete file or the new one. Temporary files
// left by dead processes are recognised by that name and removed when their output is claimed.
//
// Symbolic links: an output that is a link to a regular file is written through (the target is
// replaced, the link kept); a link to anything else, or to nothing, is refused. Outputs whose
// real path lies under /dev or /proc are refused, so /dev/stdout, /dev/full and /dev/null are
// never replaced by regular files.
//
// Locks: each claimed output file gets `.NAME.mnist-ts-lock` beside it, holding the PID of the
// run writing it; a second live run is refused, and the lock of a dead process is taken over.
import {
  closeSync, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync,
  realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { MnistError } from '../engine/errors.ts';
import { fsReason } from './fs-reason.ts';

/** An output that cannot be written, or a write that failed (the old file is then untouched). */
export class OutputError extends MnistError {}

/** The calls the writer makes, so tests can simulate short writes and a full disk. */
export interface WriteFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  fchmodSync(fd: number, mode: number): void;
}

export const nodeFs: WriteFs = {
  openSync: (p, f, m) => openSync(p, f, m),
  writeSync: (fd, b, o, l) => writeSync(fd, b, o, l),
  fsyncSync,
  closeSync,
  renameSync,
  unlinkSync,
  fchmodSync,
};

const TEMP_TAG = 'mnist-ts-tmp';
const LOCK_TAG = 'mnist-ts-lock';

/** The temporary file a process writes `path` through. */
export function tempPathFor(path: string, pid = process.pid): string {
  return join(dirname(path), `.${basename(path)}.${pid}.${TEMP_TAG}`);
}

export function lockPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${LOCK_TAG}`);
}

/** True while a process with this PID exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files of dead processes in `dir`: ours (`.NAME.PID.mnist-ts-tmp`) for any
 * name, and the older `.NAME.PID.tmp` form for `base` only. Returns how many were removed.
 */
export function cleanStaleTemps(dir: string, base?: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^\.(.+)\.(\d+)\.(mnist-ts-tmp|tmp)$/.exec(name);
    if (!m || (m[3] === 'tmp' && m[1] !== base)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed++;
    } catch {
      // gone already, or not ours to remove: the write does not depend on it
    }
  }
  return removed;
}

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('the write made no progress'), { code: 'ENOSPC', syscall: 'write' });
}

/** Writes all of `buf` at the file's position, looping over short writes; throws if one makes no progress. */
export function writeAll(fs: WriteFs, fd: number, buf: Uint8Array, progress?: { bytes: number }): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (!(n > 0)) throw enospc();
    off += n;
    if (progress) progress.bytes += n;
  }
}

/** Characters encoded per write: bounds the extra memory a 500 MB weights file needs. */
const CHUNK_CHARS = 1 << 24;

/** Writes a string in UTF-8 chunks (never splitting a surrogate pair), counting the bytes written. */
function writeText(fs: WriteFs, fd: number, text: string, written: { bytes: number }): void {
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + CHUNK_CHARS);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    writeAll(fs, fd, Buffer.from(text.slice(i, end), 'utf8'), written);
    i = end;
  }
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

/** Where the bytes of `path` really go: through a link to a regular file, else the path itself. */
function writeTarget(path: string, label: string): { target: string; mode?: number } {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return { target: path };
  }
  const { real, target } = followLink(path, st, label);
  if (!target.isFile()) throw new OutputError(`${label}: ${kindOf(target)}, not a regular file; it was left as it is`, 'choose a regular file path');
  return { target: real, mode: target.mode & 0o7777 };
}

/** An existing output path (lstat `st`) and what it names: a symbolic link's target (never created), else itself. */
function followLink(path: string, st: Stats, label: string): { real: string; target: Stats } {
  if (!st.isSymbolicLink()) return { real: path, target: st };
  try {
    const real = realpathSync(path);
    return { real, target: statSync(real) };
  } catch {
    throw new OutputError(`${label}: a symbolic link to a missing file; mnist-ts does not create link targets`, 'give the real path, or remove the link');
  }
}

/**
 * Writes `data` to `path` atomically (see the top of this file). `label` names the output in
 * messages, e.g. "--out w.json". On any failure the temporary file is removed, the old file is
 * untouched, and an OutputError says the path and the reason in one line.
 */
export function writeFileSafe(path: string, data: string | Uint8Array, o: { label?: string; fs?: WriteFs } = {}): void {
  const fs = o.fs ?? nodeFs;
  const label = o.label ?? path;
  const { target, mode } = writeTarget(path, label);
  const tmp = tempPathFor(target);
  const total = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  const written = { bytes: 0 };
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'w', 0o666);
    if (mode !== undefined) fs.fchmodSync(fd, mode);
    if (typeof data === 'string') writeText(fs, fd, data, written);
    else writeAll(fs, fd, data, written);
    if (written.bytes !== total) throw enospc();
    fs.fsyncSync(fd);
    const closing = fd;
    fd = -1;
    fs.closeSync(closing);
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // the error that brought us here is the one to report
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    throw writeFailure(err, label, target === path ? path : `${path} (→ ${target})`, written.bytes, total, mode !== undefined);
  }
  syncDir(dirname(target));
}

function writeFailure(err: unknown, label: string, shown: string, done: number, total: number, existed: boolean): Error {
  if (err instanceof MnistError) return err;
  const reason = fsReason(err);
  if (!reason) return err as Error;
  const code = (err as NodeJS.ErrnoException).code;
  const progress = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' ? ` after ${int(done)} of ${int(total)} bytes` : '';
  const kept = existed ? `${shown} is unchanged` : 'nothing was written';
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space (or write elsewhere) and run again' : undefined;
  return new OutputError(`${label}: cannot write it: ${reason}${progress}; ${kept}`, hint);
}

/** Makes the rename itself durable; a directory that cannot be opened or synced is no error. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems refuse fsync on directories; the data itself is synced
  }
}

// ---- checking and claiming outputs before the work ----

export interface OutputSpec {
  /** The flag as the user typed it ("--out"); messages say `--out PATH: …`. */
  flag: string;
  path: string;
  /** 'file': written whole by writeFileSafe; 'append': a log opened for appending; 'dir': a directory of files. */
  kind?: 'file' | 'append' | 'dir';
}

export interface InputSpec {
  /** How messages name it: "the weights file", "--resume", "the picture". */
  what: string;
  path: string;
  /** Output flags allowed to be this very file (a resumed run rewrites the file it resumed). */
  mayBe?: readonly string[];
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

interface Resolved {
  spec: OutputSpec;
  /** The absolute path the bytes will go to (links followed). */
  real: string;
  /** dev:ino of the existing file or directory. */
  id?: string;
}

const idOf = (st: Stats) => `${st.dev}:${st.ino}`;

function isDevicePath(real: string): boolean {
  return ['/dev', '/proc', '/sys'].some((d) => real === d || real.startsWith(d + sep));
}

/** Creates and removes a file in `dir`: the only sure test (root passes access(2) on read-only mounts). */
function probeDir(dir: string, label: string, base: string): void {
  const probe = tempPathFor(join(dir, base));
  try {
    closeSync(openSync(probe, 'w'));
  } catch (err) {
    const reason = fsReason(err) ?? (err as Error).message;
    throw new OutputError(`${label}: cannot create files in ${dir}: ${reason}`);
  }
  try {
    unlinkSync(probe);
  } catch {
    // it was created, so it can be written; a leftover is cleaned by the next claim
  }
}

/** Why `dir` cannot be created: the reason its nearest existing ancestor refuses a new file. */
function mkdirFailure(dir: string, label: string, err: unknown): OutputError {
  let up = dirname(dir);
  while (up !== dirname(up)) {
    try {
      if (statSync(up).isDirectory()) break;
      return new OutputError(`${label}: ${up} is not a directory`);
    } catch {
      up = dirname(up);
    }
  }
  probeDir(up, label, basename(dir));
  return new OutputError(`${label}: cannot create the directory: ${fsReason(err) ?? (err as Error).message}`);
}

function resolveOutput(spec: OutputSpec): Resolved {
  const label = `${spec.flag} ${spec.path}`;
  const abs = resolve(spec.path);
  let st: Stats | undefined;
  try {
    st = lstatSync(abs);
  } catch {
    st = undefined;
  }
  if (spec.kind === 'dir') {
    if (!st) {
      try {
        mkdirSync(abs, { recursive: true });
      } catch (err) {
        throw mkdirFailure(abs, label, err);
      }
    }
    let real: string, dst: Stats;
    try {
      real = realpathSync(abs);
      dst = statSync(real);
    } catch {
      throw new OutputError(`${label}: a symbolic link to nothing, expected a directory`);
    }
    if (!dst.isDirectory()) throw new OutputError(`${label}: ${kindOf(dst)}, expected a directory`);
    if (isDevicePath(real)) throw new OutputError(`${label}: a system directory (${real}), expected a directory of your own`);
    probeDir(real, label, 'probe');
    cleanStaleTemps(real);
    return { spec, real, id: idOf(dst) };
  }
  if (st) {
    const { real, target } = followLink(abs, st, label);
    if (isDevicePath(real)) throw new OutputError(`${label}: a system path (${real}); it was left as it is`, 'choose a regular file path');
    if (target.isDirectory()) throw new OutputError(`${label}: is a directory, expected a file path`);
    if (!target.isFile()) throw new OutputError(`${label}: ${kindOf(target)}, not a regular file; it was left as it is`, 'choose a regular file path');
    probeDir(dirname(real), label, basename(real));
    cleanStaleTemps(dirname(real), basename(real));
    return { spec, real, id: idOf(target) };
  }
  const dir = dirname(abs);
  let dst: Stats;
  try {
    dst = statSync(dir);
  } catch {
    throw new OutputError(`${label}: directory ${dir} does not exist`);
  }
  if (!dst.isDirectory()) throw new OutputError(`${label}: ${dir} is not a directory`);
  const real = join(realpathSync(dir), basename(abs));
  if (isDevicePath(real)) throw new OutputError(`${label}: a system path (${real}); mnist-ts writes only files of your own`, 'choose a regular file path');
  probeDir(dirname(real), label, basename(real));
  cleanStaleTemps(dirname(real), basename(real));
  return { spec, real };
}

// ---- locks ----

const held = new Set<string>();
let exitHook = false;

function readLockPid(lock: string): number | undefined {
  try {
    const n = Number(readFileSync(lock, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function releaseLock(lock: string): void {
  if (!held.delete(lock)) return;
  if (readLockPid(lock) !== process.pid) return;
  try {
    unlinkSync(lock);
  } catch {
    // already gone
  }
}

/** Takes the lock of the output at `real` for this process; refuses if a live run holds it. */
function acquireLock(real: string, label: string): string {
  const lock = lockPathFor(real);
  const tmp = tempPathFor(lock);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // write the PID first, then link: the lock never exists without its PID
      writeSmallFile(tmp, `${process.pid}\n`);
      try {
        linkSync(tmp, lock);
      } finally {
        unlinkSync(tmp);
      }
      held.add(lock);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => [...held].forEach(releaseLock));
      }
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        // a file system without hard links, or an unwritable directory: go without the lock
        return lock;
      }
    }
    const pid = readLockPid(lock);
    if (pid === process.pid) return lock;
    if (pid !== undefined && pidAlive(pid)) {
      throw new OutputError(`${label}: another run (PID ${pid}) is writing this file`, `wait for it to finish, or choose another path (${lock} holds its PID)`);
    }
    // the lock of a process that is gone: take it over
    try {
      unlinkSync(lock);
    } catch {
      // someone else took it over first: the next attempt sees their PID
    }
  }
  throw new OutputError(`${label}: cannot take the lock ${lock}`);
}

function writeSmallFile(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeAll(nodeFs, fd, Buffer.from(text));
  } finally {
    closeSync(fd);
  }
}

export interface OutputClaim {
  /** Releases the locks (they are also released when the process exits). */
  release(): void;
}

/**
 * Checks every output before any work and locks the files: each must be a regular file or a new
 * name in an existing, writable directory (kind 'dir': a directory, created if needed), not one
 * of the inputs, not another of the outputs, and not being written by another live run.
 * Throws an OutputError naming the flag and the path; nothing has been written then.
 */
export function claimOutputs(outputs: readonly OutputSpec[], inputs: readonly InputSpec[] = []): OutputClaim {
  const resolved = outputs.map(resolveOutput);
  const inputIds = new Map<string, InputSpec>();
  for (const input of inputs) {
    try {
      inputIds.set(idOf(statSync(input.path)), input);
    } catch {
      // a missing input is reported by the code that reads it
    }
  }
  resolved.forEach((r, i) => {
    const label = `${r.spec.flag} ${r.spec.path}`;
    const input = r.id === undefined ? undefined : inputIds.get(r.id);
    if (input && r.spec.kind !== 'dir' && !input.mayBe?.includes(r.spec.flag)) {
      throw new OutputError(`${label}: is also ${input.what} (${input.path}) this command reads; writing it would destroy it`, 'give the output another path');
    }
    for (const other of resolved.slice(0, i)) {
      const same = r.id !== undefined && other.id !== undefined ? r.id === other.id : r.real === other.real;
      if (same) throw new OutputError(`${label}: is the same file as ${other.spec.flag} ${other.spec.path}; one would overwrite the other`, 'give each output its own path');
    }
  });
  const locks: string[] = [];
  try {
    for (const r of resolved) if (r.spec.kind !== 'dir') locks.push(acquireLock(r.real, `${r.spec.flag} ${r.spec.path}`));
  } catch (err) {
    locks.forEach(releaseLock);
    throw err;
  }
  return { release: () => locks.forEach(releaseLock) };
}
