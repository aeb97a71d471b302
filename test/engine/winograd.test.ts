// The Winograd F(2x2, 3x3) path of conv2dForward / conv2dBackward (3x3, stride 1, >= 8 channels)
// against the definition as direct float64 loops, and the transforms on a hand-worked case.
import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dColSize, conv2dForward, winogradDx, winogradForward, type Conv2dGeometry } from '../../src/engine/conv2d.ts';
import { Rng } from '../../src/engine/rng.ts';
import { winogradConv, winogradWeights, winogradWeightsSize } from '../../src/engine/winograd.ts';
import { expectClose } from '../nn/helpers.ts';
import { geometry3x3, naiveConv2d, rand, winogradCases } from './conv-reference.ts';
import { setBackend } from '../../src/engine/backend.ts';

// These are the js backend's own paths (the wasm backend's are in wasm/winograd.test.ts).
setBackend('js');
const tol = { rtol: 2e-5, atol: 2e-5 };

describe('Winograd F(2x2, 3x3) convolution', () => {
  const cases = winogradCases();
  const rng = new Rng(77);
  for (const [name, g] of cases) {
    it(`${name}: y, dx, dweight and dbias match direct loops`, () => {
      expect(winogradForward(g)).toBe(g.cIn / g.groups >= 8);
      expect(winogradDx(g)).toBe(g.cOut / g.groups >= 8);
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = rand(g.cOut * (g.cIn / g.groups) * 9, rng);
      const b = rand(g.cOut, rng);
      const dy = rand(g.n * g.cOut * g.outH * g.outW, rng);
      const ref = naiveConv2d(g, x, w, b, dy);
      const y = new Float32Array(ref.y.length).fill(NaN); // every output is written
      const col = new Float32Array(conv2dColSize(g, true));
      // the Winograd path keeps no im2col blocks, whatever the caller asks
      const wino = winogradForward(g);
      if (wino) expect(col.length).toBe(conv2dColSize(g, false));
      expect(conv2dForward(g, x, w, b, y, col, true)).toBe(!wino);
      expectClose(y, ref.y, tol, `${name} y`);
      const dw = new Float32Array(w.length).fill(0.5);
      const db = new Float32Array(g.cOut).fill(0.5);
      const dx = new Float32Array(x.length).fill(NaN);
      conv2dBackward(g, x, w, dy, dw, db, dx, col, !wino, new Float32Array(conv2dColSize(g, false)));
      expectClose(dx, ref.dx, tol, `${name} dx`);
      expectClose(dw, ref.dw.map((v) => v + 0.5), tol, `${name} dw`);
      expectClose(db, ref.db.map((v) => v + 0.5), tol, `${name} db`);
    });
  }

  it('is used only for 3x3 stride-1 undilated kernels with >= 8 channels', () => {
    const g = geometry3x3(1, 16, 32, 1, 14, 14, 1, 1);
    expect(winogradForward({ ...g, cIn: 4 })).toBe(false); // conv1-like: im2col
    expect(winogradDx({ ...g, cIn: 4 })).toBe(true); // dx reduces over the 32 output channels
    expect(winogradForward({ ...g, sH: 2, outH: 7 })).toBe(false);
    expect(winogradForward({ ...g, dW: 2, outW: 12 })).toBe(false);
    expect(winogradForward({ ...g, kH: 5, outH: 12 })).toBe(false);
    expect(winogradForward({ ...g, padTop: 3, outH: 18 })).toBe(false);
  });

  it('hand-worked: a 4x4 ramp with an all-ones kernel gives the 3x3 window sums', () => {
    // 1 in / 1 out channel through the raw kernel API (the conv layer needs 8 channels for it)
    const x = Float32Array.from({ length: 16 }, (_, i) => i); // rows 0..3 of 4 values
    const u = new Float64Array(winogradWeightsSize(1, 1));
    const stride = winogradWeights(new Float32Array(9).fill(1), 0, 1, 1, false, u);
    const y = new Float32Array(4).fill(NaN);
    winogradConv({ n: 1, cIn: 1, xChannels: 1, xc0: 0, h: 4, w: 4, cOut: 1, yChannels: 1, yc0: 0, outH: 2, outW: 2, padTop: 0, padLeft: 0 }, x, u, stride, Float32Array.from([10]), 0, y);
    // window at (0,0): 0+1+2+4+5+6+8+9+10 = 45, + bias 10; a step right adds 1 to each of the 9
    // values (+9), a step down adds 4 to each (+36)
    expect([...y]).toEqual([55, 64, 91, 100]);
  });
});
