// Builds small IDX files in memory for the data tests.

/** An IDX file: magic, then the dims as big-endian uint32, then `body` (default: count*rows*cols bytes). */
export function idx(magic: number, dims: number[], body?: Uint8Array): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = body ?? Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

export const images = (count: number, rows = 28, cols = 28, body?: Uint8Array) => idx(2051, [count, rows, cols], body);
export const labels = (values: number[]) => idx(2049, [values.length], Uint8Array.from(values));
