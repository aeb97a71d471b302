// The direct 3x3 kernel for one input channel per group, through conv2dForward and on its own,
// against the definition as float64 loops.
import { describe, expect, it } from 'vitest';
import { conv3x3Direct, directConvApplies } from '../../src/engine/conv-direct.ts';
import { conv2dBackward, conv2dColSize, conv2dForward, type Conv2dGeometry } from '../../src/engine/conv2d.ts';
import { Rng } from '../../src/engine/rng.ts';
import { expectClose } from '../nn/helpers.ts';
import { geometry3x3, rand } from './conv-reference.ts';
import { setBackend } from '../../src/engine/backend.ts';

// These are the js backend's own paths (the wasm backend runs im2col + GEMM for every geometry).
setBackend('js');

function naiveForward(g: Conv2dGeometry, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const { n, cIn, h, w: W, cOut, groups, padTop, padLeft, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups;
  const y = new Float64Array(n * cOut * outH * outW);
  for (let img = 0; img < n; img++) for (let o = 0; o < cOut; o++) {
    const grp = Math.floor(o / og);
    for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
      let s = b ? b[o] : 0;
      for (let c = 0; c < cg; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const iy = oy + i - padTop, ix = ox + j - padLeft;
        if (iy < 0 || iy >= h || ix < 0 || ix >= W) continue;
        s += w[((o * cg + c) * 3 + i) * 3 + j] * x[((img * cIn + grp * cg + c) * h + iy) * W + ix];
      }
      y[((img * cOut + o) * outH + oy) * outW + ox] = s;
    }
  }
  return y;
}



const tol = { rtol: 1e-5, atol: 1e-5 };

describe('direct 3x3 convolution (one input channel per group)', () => {
  const cases: [string, Conv2dGeometry][] = [
    ['the W-CNN conv1 shape (1->16, 28x28, pad 1)', geometry3x3(2, 1, 16, 1, 28, 28, 1, 1)],
    ['no padding, odd sizes', geometry3x3(1, 1, 3, 1, 7, 5, 0, 0)],
    ['padding 2', geometry3x3(2, 1, 2, 1, 4, 6, 2, 2)],
    ['asymmetric bottom/right padding', geometry3x3(1, 1, 4, 1, 5, 5, 0, 1, 1, 2)],
    ['three groups of one channel (depthwise, 2 outputs each)', geometry3x3(2, 3, 6, 3, 6, 7, 1, 1)],
  ];
  const rng = new Rng(31);
  for (const [name, g] of cases) {
    it(`${name}: y matches direct loops; dweight still comes out right (cols rebuilt in backward)`, () => {
      expect(directConvApplies(g)).toBe(true);
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = rand(g.cOut * 9, rng);
      const b = rand(g.cOut, rng);
      const ref = naiveForward(g, x, w, b);
      const y = new Float32Array(ref.length).fill(NaN);
      conv3x3Direct(g, x, w, b, y);
      expectClose(y, ref, tol, `${name} y (kernel)`);
      y.fill(NaN);
      const col = new Float32Array(conv2dColSize(g, true));
      expect(col.length).toBe(conv2dColSize(g, false)); // nothing kept for backward
      expect(conv2dForward(g, x, w, null, y, col, true)).toBe(false);
      expectClose(y, naiveForward(g, x, w, null), tol, `${name} y (conv2dForward, no bias)`);
      // dweight of sum(y * dy) is sum over positions of dy * x-window: check one tap numerically
      const dy = rand(ref.length, rng);
      const dw = new Float32Array(w.length);
      conv2dBackward(g, x, w, dy, dw, null, null, col, false, new Float32Array(conv2dColSize(g, false)));
      const wp = w.slice();
      wp[4] += 1; // the centre tap of output channel 0: d(sum y*dy)/dw = (y(w+e) - y(w)) . dy
      const base = naiveForward(g, x, w, null);
      const diff = naiveForward(g, x, wp, null).map((v, i) => v - base[i]);
      let want = 0;
      for (let i = 0; i < diff.length; i++) want += diff[i] * dy[i];
      expect(dw[4]).toBeCloseTo(want, 4);
    });
  }

  it('does not apply to strided, dilated, larger or multi-channel kernels', () => {
    const g = geometry3x3(1, 1, 4, 1, 8, 8, 1, 1);
    expect(directConvApplies({ ...g, cIn: 2 })).toBe(false);
    expect(directConvApplies({ ...g, sW: 2, outW: 4 })).toBe(false);
    expect(directConvApplies({ ...g, dH: 2, outH: 6 })).toBe(false);
    expect(directConvApplies({ ...g, kW: 5, outW: 6 })).toBe(false);
    expect(directConvApplies({ ...g, padLeft: 3, outW: 12 })).toBe(false);
  });
});
