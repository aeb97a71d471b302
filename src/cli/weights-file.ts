// Reading a weights file from disk for every command (mnist-train --resume, mnist-eval,
// mnist-predict): type and size checks before reading, then the field-by-field validation in
// weights/checkpoint.ts. Every failure is one line naming the file and the field.
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { MnistError } from '../engine/errors.ts';
import { readProblem } from './fs-reason.ts';
import { CheckpointError, readWeights, type WeightsFile } from '../weights/checkpoint.ts';
import type { Sequential } from '../nn/sequential.ts';
import { MAX_WEIGHTS_BYTES } from '../weights/limits.ts';

// Larger files are refused before reading: far past any MNIST model, and it keeps memory bounded
// (mnist-train refuses a model whose file would be larger).
export { MAX_WEIGHTS_BYTES };

const HINT = 'is this a weights file written by mnist-train?';

/** Checks that `path` names a regular, non-empty file of sane size; returns its size. */
export function checkWeightsPath(path: string, label = path): number {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const problem = readProblem(err, 'a weights file');
    if (!problem) throw err;
    throw new CheckpointError(`${label}: ${problem}`, problem === 'no such file' ? 'mnist-train writes weights.json by default (see --out)' : undefined);
  }
  if (st.isDirectory()) throw new CheckpointError(`${label}: is a directory, expected a weights file`);
  if (!st.isFile()) throw new CheckpointError(`${label}: not a regular file, expected a weights file`);
  if (st.size === 0) throw new CheckpointError(`${label}: the file is empty`, 'was it copied or written only partly? use a complete copy');
  if (st.size > MAX_WEIGHTS_BYTES) {
    throw new CheckpointError(`${label}: ${st.size.toLocaleString('en-US')} bytes is past the limit of ${MAX_WEIGHTS_BYTES / 2 ** 20} MB for a weights file`, HINT);
  }
  return st.size;
}

function readCapped(path: string, label: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const problem = readProblem(err, 'a weights file');
    if (!problem) throw err;
    throw new CheckpointError(`${label}: ${problem}`);
  }
  try {
    // the file may have changed since the stat: the cap holds for what is actually read
    const size = fstatSync(fd).size;
    if (size > MAX_WEIGHTS_BYTES) throw new CheckpointError(`${label}: past the ${MAX_WEIGHTS_BYTES / 2 ** 20} MB limit for a weights file`);
    const buf = Buffer.allocUnsafe(size);
    let n = 0;
    while (n < size) {
      const r = readSync(fd, buf, n, size - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads, validates and rebuilds a weights file: the model comes back with the stored parameters.
 * `label` names the file in messages (default: the path), e.g. "--resume w.json".
 */
export function readWeightsFile(path: string, opts: { label?: string } = {}): { file: WeightsFile; model: Sequential } {
  const label = opts.label ?? path;
  checkWeightsPath(path, label);
  const bytes = readCapped(path, label);
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x0a || bytes[start] === 0x0d || bytes[start] === 0x09)) start++;
  if (start === bytes.length) throw new CheckpointError(`${label}: the file is empty (only white space)`, HINT);
  if (bytes[start] !== 0x7b) {
    const head = [...bytes.subarray(start, start + 8)];
    const printable = head.every((b) => b >= 0x20 && b < 0x7f);
    const shown = printable ? JSON.stringify(String.fromCharCode(...head)) : `bytes ${head.map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
    throw new CheckpointError(`${label}: not a weights file: expected a JSON object, the file starts with ${shown}`, HINT);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    throw new CheckpointError(`${label}: not a text file (invalid UTF-8)`, HINT);
  }
  try {
    return readWeights(text);
  } catch (err) {
    if (err instanceof MnistError) throw new CheckpointError(`${label}: ${err.message}`, err.hint);
    throw err;
  }
}
