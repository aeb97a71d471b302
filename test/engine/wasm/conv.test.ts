// The wasm convolution with every buffer in the kernel memory, as layers run it (in place,
// the batched weight gradient over chunks of images), against the float64 definition.
import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dColSize, conv2dForward, convOutSize, type Conv2dGeometry } from '../../../src/engine/conv2d.ts';
import { backend, setBackend } from '../../../src/engine/backend.ts';
import { Rng } from '../../../src/engine/rng.ts';
import { wasmRuntime } from '../../../src/engine/wasm/runtime.ts';
import { expectClose } from '../../nn/helpers.ts';
import { naiveConv2d, rand } from '../conv-reference.ts';

function geometry(n: number, cIn: number, cOut: number, groups: number, h: number, w: number, k: number, s: number, p: number): Conv2dGeometry {
  return {
    n, cIn, h, w, cOut, groups, kH: k, kW: k, sH: s, sW: s, dH: 1, dW: 1, padTop: p, padLeft: p,
    outH: convOutSize(h, k, s, p, p, 1), outW: convOutSize(w, k, s, p, p, 1),
  };
}

/** A copy of a in the kernel memory. */
function inMemory(a: Float32Array): Float32Array {
  const m = wasmRuntime().allocFloats(a.length)!;
  m.set(a);
  return m;
}

describe('wasm conv2d in the kernel memory', () => {
  const was = backend();
  const tol = { rtol: 1e-4, atol: 1e-5 };
  const cases: [string, Conv2dGeometry][] = [
    // (3x3 stride-1 kernels with >= 8 channels take Winograd instead: winograd.test.ts)
    ['16->32 5x5, 23 images (three chunks of the batched dweight)', geometry(23, 16, 32, 1, 10, 10, 5, 1, 2)],
    ['W-CNN conv1 shape (the direct 3x3 kernel)', geometry(3, 1, 16, 1, 28, 28, 3, 1, 1)],
    ['one channel per group, rows of 7 (the direct kernel, its last vector overlapping)', geometry(2, 2, 6, 2, 9, 7, 3, 1, 1)],
    ['direct kernel, no padding', geometry(2, 1, 4, 1, 8, 10, 3, 1, 0)],
    ['direct kernel, padding 2', geometry(2, 1, 4, 1, 6, 5, 3, 1, 2)],
    ['rows of 3 outputs: im2col instead of the direct kernel', geometry(2, 1, 4, 1, 5, 3, 3, 1, 1)],
    ['groups, stride 2, 5x5', geometry(4, 6, 4, 2, 11, 9, 5, 2, 2)],
  ];
  for (const [name, g, xOutside] of [...cases, ['W-CNN conv1, the batch outside the kernel memory (one-thread training)', cases[1][1], true] as const]) {
    it(name, () => {
      setBackend('wasm');
      const rng = new Rng(17);
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = rand(g.cOut * (g.cIn / g.groups) * g.kH * g.kW, rng);
      const b = rand(g.cOut, rng);
      const dy = rand(g.n * g.cOut * g.outH * g.outW, rng);
      const ref = naiveConv2d(g, x, w, b, dy);
      const xm = xOutside ? x : inMemory(x), dym = inMemory(dy);
      const y = inMemory(new Float32Array(ref.y.length).fill(NaN));
      const col = inMemory(new Float32Array(conv2dColSize(g, true)));
      expect(conv2dForward(g, xm, w, b, y, col, true)).toBe(true);
      expectClose(y, ref.y, tol, `${name} y`);
      const dw = new Float32Array(w.length).fill(0.5), db = new Float32Array(g.cOut).fill(0.5);
      const dx = inMemory(new Float32Array(x.length).fill(NaN));
      const dcol = inMemory(new Float32Array(conv2dColSize(g, false)));
      conv2dBackward(g, xm, w, dym, dw, db, dx, col, true, dcol);
      expectClose(dx, ref.dx, tol, `${name} dx`);
      // float32 sums over images x positions (2300 terms here): the error grows like its sqrt
      const dwTol = { rtol: 1e-4, atol: 4e-6 * Math.sqrt(g.n * g.outH * g.outW) };
      expectClose(dw, ref.dw.map((v) => v + 0.5), dwTol, `${name} dw`);
      expectClose(db, ref.db.map((v) => v + 0.5), tol, `${name} db`);
      setBackend(was);
    });
  }
});
