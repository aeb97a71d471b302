// Reading a weights file from disk for every command (mnist-train --resume, mnist-eval,
// mnist-predict): type and size checks before reading, then the field-by-field validation in
// weights/checkpoint.ts. Every failure is one line naming the file and the field.
import { MnistError } from '../engine/errors.ts';
import { readInputFile } from './read-input.ts';
import { CheckpointError, readWeights, type WeightsFile } from '../weights/checkpoint.ts';
import type { Sequential } from '../nn/sequential.ts';
import { MAX_WEIGHTS_BYTES } from '../weights/limits.ts';

const HINT = 'is this a weights file written by mnist-train?';

/**
 * Reads, validates and rebuilds a weights file: the model comes back with the stored parameters.
 * `label` names the file in messages (default: the path), e.g. "--resume w.json".
 */
export function readWeightsFile(path: string, opts: { label?: string } = {}): { file: WeightsFile; model: Sequential } {
  const label = opts.label ?? path;
  const bytes = readInputFile(path, {
    label, what: 'a weights file', max: MAX_WEIGHTS_BYTES, error: (m, h) => new CheckpointError(m, h),
    hints: { missing: 'mnist-train writes weights.json by default (see --out)', empty: 'was it copied or written only partly? use a complete copy', tooBig: HINT },
  });
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
