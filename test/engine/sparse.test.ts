// The products over an input split as v + sparse: a hand-worked case, float64 references over
// many shapes (8-row blocks and remainders, empty and all-background rows), and the density limit.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { SplitRows, splitGemmNT, splitGemmTN, splitRows } from '../../src/engine/sparse.ts';

/** rows × cols values: `background` except a `keep` fraction drawn from U(-2, 2). */
function mostly(rng: Rng, rows: number, cols: number, background: number, keep: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => (rng.next() < keep ? rng.uniform(-2, 2) : background));
}

const uniform = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

describe('splitRows', () => {
  it('hand-worked: [[5, 5, 7], [5, 5, 5]] is 5 + one entry of 2 at (0, 2)', () => {
    const s = new SplitRows();
    expect(splitRows(Float32Array.from([5, 5, 7, 5, 5, 5]), 2, 3, 0.5, s)).toBe(true);
    expect([s.v, s.nnz, [...s.rowPtr.subarray(0, 3)], s.idx[0], s.val[0]]).toEqual([5, 1, [0, 1, 1], 2, 2]);
  });

  it('falls back to 0 as the background when the first entry is not it', () => {
    const s = new SplitRows();
    expect(splitRows(Float32Array.from([3, 0, 0, 0, 0, 1, 0, 0]), 2, 4, 0.3, s)).toBe(true);
    expect([s.v, s.nnz, [...s.idx.subarray(0, 2)], [...s.val.subarray(0, 2)]]).toEqual([0, 2, [0, 1], [3, 1]]);
  });

  it('refuses an input with more entries off the background than the density allows', () => {
    const rng = new Rng(1);
    const s = new SplitRows();
    expect(splitRows(mostly(rng, 8, 50, -0.42, 0.6), 8, 50, 0.4, s)).toBe(false);
    expect(splitRows(uniform(rng, 400), 8, 50, 0.4, s)).toBe(false);
    expect(splitRows(mostly(rng, 8, 50, -0.42, 0.2), 8, 50, 0.4, s)).toBe(true);
  });
});

describe('splitGemmNT / splitGemmTN against float64 references', () => {
  const shapes: [rows: number, cols: number, O: number][] = [[1, 1, 1], [3, 7, 8], [5, 30, 13], [64, 784, 20], [7, 50, 33], [2, 9, 64]];
  for (const [rows, cols, O] of shapes) {
    for (const background of [-0.4242, 0]) {
      it(`x [${rows}, ${cols}] around ${background}, W [${O}, ${cols}]`, () => {
        const rng = new Rng(rows * 1000 + cols + O);
        const x = mostly(rng, rows, cols, background, 0.25);
        x[0] = background; // the first guess of the background is right
        x.fill(background, (rows - 1) * cols); // a row with nothing off the background
        const w = uniform(rng, O * cols), dout = uniform(rng, rows * O);
        const s = new SplitRows();
        expect(splitRows(x, rows, cols, 0.5, s)).toBe(true);

        const y = new Float32Array(rows * O);
        splitGemmNT(s, O, w, y);
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < O; o++) {
            let want = 0;
            for (let k = 0; k < cols; k++) want += x[r * cols + k] * w[o * cols + k];
            expect(Math.abs(y[r * O + o] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
          }
        }

        const dw = Float32Array.from({ length: O * cols }, (_, q) => q % 3); // accumulates onto this
        splitGemmTN(dout, O, s, dw);
        for (let o = 0; o < O; o++) {
          for (let k = 0; k < cols; k++) {
            let want = (o * cols + k) % 3;
            for (let r = 0; r < rows; r++) want += dout[r * O + o] * x[r * cols + k];
            expect(Math.abs(dw[o * cols + k] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
          }
        }
      });
    }
  }
});
