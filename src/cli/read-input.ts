// Reading one input file whole (a weights file, a safetensors file): a regular, non-empty file of
// at most `max` bytes; every failure is one line naming it, in the words of fs-reason.ts.
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { readProblem } from './fs-reason.ts';

export interface InputFile {
  /** Names the file in messages (default: the path), e.g. "--resume w.json"; '' when the caller names it. */
  label?: string;
  /** What the file should be, for messages: "a weights file". */
  what: string;
  /** The largest size read, in bytes. */
  max: number;
  /** The command's error for a message and a hint. */
  error: (message: string, hint?: string) => Error;
  hints?: { missing?: string; empty?: string; tooBig?: string };
}

/** The file's bytes, after checking it is a regular file within the size limit. */
export function readInputFile(path: string, o: InputFile): Uint8Array {
  const label = o.label ?? path;
  const fail = (problem: string, hint?: string) => o.error(label ? `${label}: ${problem}` : problem, hint);
  const fsFail = (err: unknown, hint?: string) => {
    const problem = readProblem(err, o.what);
    if (!problem) return err;
    return fail(problem, problem === 'no such file' ? hint : undefined);
  };
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw fsFail(err, o.hints?.missing);
  }
  // before opening: opening a FIFO would wait for a writer, /dev/zero never ends
  if (st.isDirectory()) throw fail(`is a directory, expected ${o.what}`);
  if (!st.isFile()) throw fail(`not a regular file, expected ${o.what}`);
  if (st.size === 0) throw fail('the file is empty', o.hints?.empty);
  const limit = `${o.max / 2 ** 20} MB`;
  if (st.size > o.max) throw fail(`${st.size.toLocaleString('en-US')} bytes is past the limit of ${limit} for ${o.what}`, o.hints?.tooBig);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fsFail(err);
  }
  try {
    // the file may have changed since the stat: the cap holds for what is actually read
    const size = fstatSync(fd).size;
    if (size > o.max) throw fail(`past the ${limit} limit for ${o.what}`);
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
