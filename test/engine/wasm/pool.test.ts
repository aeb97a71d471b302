// The wasm 2×2 max-pool and its backward scatter against the plain TypeScript kernels (the
// reference, itself checked against PyTorch in test/nn/max-pool2d.test.ts): bit-identical maxima
// and argmax, with ties, NaNs, -inf and row widths that are not a multiple of four.
import { describe, expect, it } from 'vitest';
import { setBackend, backend } from '../../../src/engine/backend.ts';
import { maxPool2dBackward, maxPool2dForward, pool2dGeometry, poolOutSize, type Pool2dGeometry } from '../../../src/engine/pool.ts';
import { Rng } from '../../../src/engine/rng.ts';
import { assemble } from '../../../src/engine/wasm/asm.ts';
import { poolFuncs } from '../../../src/engine/wasm/pool-kernel.ts';
import { wasmMaxPool2x2, wasmMaxPoolBackward } from '../../../src/engine/wasm/pool.ts';
import { wasmRuntime } from '../../../src/engine/wasm/runtime.ts';

function geometry(n: number, c: number, h: number, w: number, k = 2, s = 2): Pool2dGeometry {
  const out = (size: number) => poolOutSize(size, k, s, 0, 1, false);
  return pool2dGeometry({ n, c, h, w, kH: k, kW: k, sH: s, sW: s, pH: 0, pW: 0, dH: 1, dW: 1, outH: out(h), outW: out(w) });
}

/** n floats in the kernel memory: values from a small set (so windows tie), a few NaN and -inf. */
function input(n: number, rng: Rng): Float32Array {
  const a = wasmRuntime().allocFloats(n)!;
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    a[i] = r < 0.02 ? NaN : r < 0.04 ? -Infinity : Math.floor(rng.next() * 5) - 2;
  }
  return a;
}

/** The TypeScript kernels' results for the same buffers. */
function reference(g: Pool2dGeometry, x: Float32Array, dy: Float32Array) {
  const was = backend();
  setBackend('js');
  const y = new Float32Array(dy.length), argmax = new Int32Array(dy.length), dx = new Float32Array(x.length);
  maxPool2dForward(g, x, y, argmax);
  maxPool2dBackward(dy, argmax, dx);
  setBackend(was);
  return { y, argmax, dx };
}

const bits = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);

describe('wasm max-pool 2×2, stride 2', () => {
  it('assembles a module that validates', () => {
    expect(WebAssembly.validate(assemble({ module: 'env', name: 'memory', initial: 1 }, poolFuncs()))).toBe(true);
  });

  const cases: [string, Pool2dGeometry][] = [
    ['W-CNN pool1: [5, 16, 28, 28]', geometry(5, 16, 28, 28)],
    ['W-CNN pool2: [3, 32, 14, 14] (7 windows a row: the last four overlap)', geometry(3, 32, 14, 14)],
    ['odd sizes, floor mode: [2, 3, 11, 9] (5 × 4 windows)', geometry(2, 3, 11, 9)],
    ['exactly four windows a row: [1, 2, 8, 8]', geometry(1, 2, 8, 8)],
  ];
  for (const [name, g] of cases) {
    it(name, () => {
      const rng = new Rng(5);
      const x = input(g.n * g.c * g.h * g.w, rng);
      const size = g.n * g.c * g.outH * g.outW;
      const dy = wasmRuntime().allocFloats(size)!;
      for (let i = 0; i < size; i++) dy[i] = rng.next() - 0.5;
      const ref = reference(g, x, dy);
      const y = wasmRuntime().allocFloats(size)!.fill(123);
      const am = wasmRuntime().allocFloats(size)!;
      const argmax = new Int32Array(am.buffer, am.byteOffset, size).fill(-7);
      const dx = wasmRuntime().allocFloats(x.length)!.fill(9);
      expect(wasmMaxPool2x2(g, x, y, argmax)).toBe(true);
      expect(Array.from(argmax)).toEqual(Array.from(ref.argmax));
      expect(Array.from(bits(y))).toEqual(Array.from(bits(ref.y))); // NaN and -inf too, bit for bit
      expect(wasmMaxPoolBackward(dy, argmax, dx)).toBe(true);
      expect(Array.from(dx)).toEqual(Array.from(ref.dx));
      expect(ref.y.some(Number.isNaN)).toBe(true); // the inputs did exercise the NaN rule
    });
  }

  it('declines what it does not cover, so the TypeScript kernel runs', () => {
    const rng = new Rng(1);
    const mem = (n: number) => wasmRuntime().allocFloats(n)!;
    const ints = (n: number) => { const a = mem(n); return new Int32Array(a.buffer, a.byteOffset, n); };
    const g3 = geometry(1, 1, 9, 9, 3, 2);
    expect(wasmMaxPool2x2(g3, input(81, rng), mem(16), ints(16))).toBe(false); // 3×3 windows
    const narrow = geometry(1, 1, 6, 6);
    expect(wasmMaxPool2x2(narrow, input(36, rng), mem(9), ints(9))).toBe(false); // 3 windows a row
    const g = geometry(1, 1, 8, 8);
    expect(wasmMaxPool2x2(g, new Float32Array(64), mem(16), ints(16))).toBe(false); // x outside the memory
    expect(wasmMaxPoolBackward(mem(16), new Int32Array(16), mem(64))).toBe(false);
  });
});
