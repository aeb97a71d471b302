// The wasm 4x4-block transpose the sparse products use, on shapes that leave partial 16x16 tiles,
// against the definition, plain, accumulated and with a per-row addend.
import { describe, expect, it } from 'vitest';
import { wasmRuntime } from '../../../src/engine/wasm/runtime.ts';

describe('transpose4', () => {
  const rt = wasmRuntime();
  const rows = 20, cols = 36; // multiples of 4, not of 16
  const src = rt.allocFloats(rows * cols)!;
  for (let i = 0; i < src.length; i++) src[i] = i * 0.5 - 7;
  const add = rt.allocFloats(cols)!;
  for (let c = 0; c < cols; c++) add[c] = 1000 * c;
  const at = (r: number, c: number) => src[r * cols + c];

  it('dst [cols, rows] = srcᵀ', () => {
    const dst = rt.allocFloats(rows * cols)!.fill(NaN);
    rt.k.transpose4(src.byteOffset, rows, cols, dst.byteOffset, 0, 0);
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) expect(dst[c * rows + r]).toBe(at(r, c));
  });

  it('accumulates into dst and adds add[c] on row c', () => {
    const dst = rt.allocFloats(rows * cols)!.fill(3);
    rt.k.transpose4(src.byteOffset, rows, cols, dst.byteOffset, 1, add.byteOffset);
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) expect(dst[c * rows + r]).toBe(at(r, c) + 3 + 1000 * c);
  });
});
