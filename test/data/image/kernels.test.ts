// The photo pipeline's per-pixel kernels, written for speed (packed bits, flat loops), against
// plain reference versions written the obvious way, on random inputs of awkward sizes.
import { describe, expect, it } from 'vitest';
import { closeMask } from '../../../src/data/image/candidates.ts';
import { blur3 } from '../../../src/data/image/filters.ts';
import { labelRegions } from '../../../src/data/image/regions.ts';
import { resampleRect, resampleRect3 } from '../../../src/data/image/resample.ts';
import { Rng } from '../../../src/engine/rng.ts';

const SIZES: [number, number][] = [[1, 1], [1, 6], [7, 1], [31, 5], [32, 9], [33, 4], [65, 11], [100, 37]];

/** Every pixel set to `hit` when any picture pixel within ±r (a square) is `hit`. */
function morph(m: Uint8Array, w: number, h: number, r: number, hit: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let any = false;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) any ||= m[yy * w + xx] === hit;
      out[y * w + x] = any ? hit : 1 - hit;
    }
  }
  return out;
}

describe('closeMask', () => {
  it('is dilation then erosion over a ±r square, the window cut at the edges', () => {
    const rng = new Rng(5);
    for (const [w, h] of SIZES) {
      for (const r of [1, 2, 3]) {
        for (const p of [0.05, 0.3, 0.7, 0.97]) {
          const m = new Uint8Array(w * h).map(() => (rng.next() < p ? 1 : 0));
          expect(Array.from(closeMask(m, w, h, r)), `${w}×${h} r=${r} p=${p}`).toEqual(Array.from(morph(morph(m, w, h, r, 1), w, h, r, 0)));
        }
      }
    }
  });
  it('joins two strokes a pixel apart and leaves a single pixel alone', () => {
    const w = 11, h = 5, m = new Uint8Array(w * h);
    m[2 * w + 2] = m[2 * w + 4] = 1; // a gap of one pixel between them
    m[2 * w + 8] = 1;
    const c = closeMask(m, w, h, 1);
    expect(Array.from(c.subarray(2 * w, 3 * w))).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0]);
    expect(c.reduce((a, b) => a + b, 0)).toBe(4);
  });
});

describe('blur3', () => {
  it('is [1 2 1]/4 along rows then columns, the edge pixel standing in beyond the edge', () => {
    const rng = new Rng(6);
    for (const [w, h] of SIZES) {
      const a = new Float32Array(w * h).map(() => rng.next());
      const at = (b: Float32Array, x: number, y: number) => b[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
      const tmp = new Float32Array(w * h), want = new Float32Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) tmp[y * w + x] = 0.25 * at(a, x - 1, y) + 0.5 * at(a, x, y) + 0.25 * at(a, x + 1, y);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) want[y * w + x] = 0.25 * at(tmp, x, y - 1) + 0.5 * at(tmp, x, y) + 0.25 * at(tmp, x, y + 1);
      expect(Array.from(blur3(a, w, h)), `${w}×${h}`).toEqual(Array.from(want));
    }
  });
});

describe('labelRegions', () => {
  it('finds 8-connected regions with their area, mass, box and edges', () => {
    const w = 6, h = 4;
    // a diagonal pair (one region by 8-connectivity), and an L of three pixels
    const m = Uint8Array.from([
      1, 0, 0, 0, 1, 0,
      0, 1, 0, 0, 1, 1,
      0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0,
    ]);
    const weight = new Float32Array(w * h).map((_, i) => i / 10);
    const { label, regions } = labelRegions(m, weight, w, h);
    expect(regions).toHaveLength(2);
    expect(regions[0]).toMatchObject({ id: 0, area: 2, x0: 0, y0: 0, x1: 2, y1: 2, edges: 8 });
    expect(regions[0].mass).toBeCloseTo(0 + 0.7, 6);
    expect(regions[1]).toMatchObject({ id: 1, area: 3, x0: 4, y0: 0, x1: 6, y1: 2, edges: 8 });
    expect(regions[1].mass).toBeCloseTo(0.4 + 1.0 + 1.1, 6);
    expect(Array.from(label.subarray(0, 12))).toEqual([0, -1, -1, -1, 1, -1, -1, 0, -1, -1, 1, 1]);
  });
});

describe('resampleRect3', () => {
  it('gives each of three planes exactly what resampleRect gives it', () => {
    const rng = new Rng(7);
    for (const [w, h, x0, y0, sw, sh, ow, oh] of [[404, 303, 0, 0, 400, 300, 400, 300], [37, 21, 1.5, 0.25, 30.2, 17.9, 11, 6], [9, 9, 0, 0, 9, 9, 20, 20]]) {
      const planes = [0, 1, 2].map(() => new Float32Array(w * h).map(() => rng.next())) as [Float32Array, Float32Array, Float32Array];
      const got = resampleRect3(planes, w, h, x0, y0, sw, sh, ow, oh);
      planes.forEach((p, k) => expect(Array.from(got[k]), `${w}×${h} plane ${k}`).toEqual(Array.from(resampleRect(p, w, h, x0, y0, sw, sh, ow, oh))));
    }
  });
});
