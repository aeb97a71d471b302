import { describe, expect, it } from 'vitest';
import { maxPool2dBackward, maxPool2dForward, pool2dGeometry, poolOutSize, type Pool2dGeometry } from '../../src/engine/pool.ts';
import { Rng } from '../../src/engine/rng.ts';

// Reference: every tap (i, j) of every window in row-major order; the first strictly greater
// value wins, a NaN always takes over (PyTorch CPU's `val > maxval || isnan(val)`).
function naive(g: Pool2dGeometry, x: Float32Array, dy: Float32Array) {
  const { n, c, h, w, kH, kW, sH, sW, pH, pW, dH, dW, outH, outW } = g;
  const y = new Float32Array(n * c * outH * outW), dx = new Float64Array(x.length);
  let q = 0;
  for (let pl = 0; pl < n * c; pl++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++, q++) {
    let best = -Infinity, at = -1;
    for (let i = 0; i < kH; i++) for (let j = 0; j < kW; j++) {
      const iy = oy * sH - pH + i * dH, ix = ox * sW - pW + j * dW;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const idx = pl * h * w + iy * w + ix;
      if (at < 0) at = idx;
      if (x[idx] > best || Number.isNaN(x[idx])) {
        best = x[idx];
        at = idx;
      }
    }
    y[q] = best;
    if (at >= 0) dx[at] += dy[q];
  }
  return { y, dx };
}

function geometry(n: number, c: number, h: number, w: number, k: [number, number], s: [number, number], p: [number, number], d: [number, number], ceil: boolean) {
  return pool2dGeometry({
    n, c, h, w, kH: k[0], kW: k[1], sH: s[0], sW: s[1], pH: p[0], pW: p[1], dH: d[0], dW: d[1],
    outH: poolOutSize(h, k[0], s[0], p[0], d[0], ceil), outW: poolOutSize(w, k[1], s[1], p[1], d[1], ceil),
  });
}

describe('poolOutSize', () => {
  it('matches PyTorch 1.13 output sizes, including the ceil-mode last-window rule', () => {
    // [H, k, s, p, d, ceilMode, PyTorch's output size]
    const table: [number, number, number, number, number, boolean, number][] = [
      [28, 2, 2, 0, 1, false, 14], [5, 2, 2, 0, 1, true, 3], [5, 2, 2, 1, 1, true, 3], [6, 3, 2, 1, 1, true, 4],
      [7, 3, 2, 1, 1, false, 4], [7, 3, 2, 1, 1, true, 4], [8, 3, 3, 0, 1, true, 3], [7, 3, 1, 1, 2, false, 5],
      [6, 2, 1, 1, 2, true, 6], [1, 2, 1, 1, 2, false, 1], [4, 4, 3, 2, 1, true, 2], [10, 3, 4, 1, 1, true, 3],
    ];
    for (const [h, k, s, p, d, ceil, out] of table) expect(poolOutSize(h, k, s, p, d, ceil), `${[h, k, s, p, d, ceil]}`).toBe(out);
    expect(poolOutSize(2, 3, 1, 0, 1, true)).toBeLessThan(1);
  });
});

describe('max-pool kernels against every-tap loops', () => {
  const rng = new Rng(77);
  for (let t = 0; t < 50; t++) {
    const k: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const s: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const p: [number, number] = [rng.int(Math.floor(k[0] / 2) + 1), rng.int(Math.floor(k[1] / 2) + 1)];
    const d: [number, number] = [1 + rng.int(2), 1 + rng.int(2)];
    const ceil = t % 2 === 1;
    const h = 1 + rng.int(7) + d[0] * (k[0] - 1), w = 1 + rng.int(7) + d[1] * (k[1] - 1);
    const g = geometry(1 + rng.int(2), 1 + rng.int(2), h, w, k, s, p, d, ceil);
    const label = `#${t} ${h}x${w} k${k} s${s} p${p} d${d} ceil ${ceil}`;
    it(label, () => {
      const x = new Float32Array(g.n * g.c * h * w);
      // small integers make ties common; a few NaNs on some cases
      for (let i = 0; i < x.length; i++) x[i] = rng.int(4) - 2;
      if (t % 5 === 0) x[rng.int(x.length)] = NaN;
      const dy = new Float32Array(g.n * g.c * g.outH * g.outW);
      for (let i = 0; i < dy.length; i++) dy[i] = rng.uniform(-1, 1);
      const ref = naive(g, x, dy);
      const y = new Float32Array(dy.length), argmax = new Int32Array(dy.length);
      maxPool2dForward(g, x, y, argmax);
      expect([...y]).toEqual([...ref.y]);
      const dx = new Float32Array(x.length).fill(NaN);
      maxPool2dBackward(dy, argmax, dx);
      for (let i = 0; i < dx.length; i++) expect(dx[i]).toBeCloseTo(ref.dx[i], 5);
    });
  }
});

describe('max-pool kernel edge cases', () => {
  it('propagates NaN and routes its gradient to the last NaN of the window, as PyTorch does', () => {
    // torch: max_pool2d([[1, nan], [nan, 5]], 2) -> nan, index 2
    const g = geometry(1, 1, 2, 2, [2, 2], [2, 2], [0, 0], [1, 1], false);
    const y = new Float32Array(1), argmax = new Int32Array(1);
    maxPool2dForward(g, Float32Array.from([1, NaN, NaN, 5]), y, argmax);
    expect(y[0]).toBeNaN();
    expect(argmax[0]).toBe(2);
  });

  it('returns -inf over an all -inf window with the first cell as argmax (PyTorch index 0)', () => {
    const g = geometry(1, 1, 2, 2, [2, 2], [2, 2], [0, 0], [1, 1], false);
    const y = new Float32Array(1), argmax = new Int32Array(1);
    maxPool2dForward(g, new Float32Array(4).fill(-Infinity), y, argmax);
    expect(y[0]).toBe(-Infinity);
    expect(argmax[0]).toBe(0);
  });

  it('gives -inf and no gradient for a dilated window that holds no input cell', () => {
    // PyTorch 1.13 accepts MaxPool2d(2, padding=1, dilation=2) on a 1x1 input and returns -inf
    const g = geometry(1, 1, 1, 1, [2, 2], [1, 1], [1, 1], [2, 2], false);
    expect([g.outH, g.outW]).toEqual([1, 1]);
    const y = new Float32Array(1), argmax = new Int32Array(1);
    maxPool2dForward(g, Float32Array.from([3]), y, argmax);
    expect(y[0]).toBe(-Infinity);
    expect(argmax[0]).toBe(-1);
    const dx = new Float32Array(1);
    maxPool2dBackward(Float32Array.from([1]), argmax, dx);
    expect(dx[0]).toBe(0);
  });
});
