// The wasm GEMM against a float64 triple loop and against the js kernel it replaces, with its
// operands outside the kernel memory (copied in and out) and inside it (used in place).
import { describe, expect, it } from 'vitest';
import { gemmStridedJs } from '../../../src/engine/gemm.ts';
import { Rng } from '../../../src/engine/rng.ts';
import { wasmGemmStrided } from '../../../src/engine/wasm/gemm.ts';
import { wasmRuntime } from '../../../src/engine/wasm/runtime.ts';

function rand(n: number, rng: Rng, into?: Float32Array) {
  const a = into ?? new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

type Form = 'NN' | 'NT' | 'TN';
// strides [ars, acs, brs, bcs] of each form for A, B stored row-major
const strides = (form: Form, M: number, N: number, K: number) =>
  form === 'NN' ? [K, 1, N, 1] : form === 'NT' ? [K, 1, 1, K] : [1, M, N, 1];

function naive(M: number, N: number, K: number, a: Float32Array, b: Float32Array, s: number[], c0: Float32Array, ldc: number, acc: boolean) {
  const out = Float64Array.from(c0);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let v = 0;
    for (let k = 0; k < K; k++) v += a[i * s[0] + k * s[1]] * b[k * s[2] + j * s[3]];
    out[i * ldc + j] = (acc ? out[i * ldc + j] : 0) + v;
  }
  return out;
}

function expectNear(actual: Float32Array, expected: ArrayLike<number>, K: number) {
  const tol = 1e-6 * Math.sqrt(K) * 4;
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('wasm gemm', () => {
  const rng = new Rng(11);
  const shapes = [[1, 1, 1], [3, 5, 7], [4, 8, 4], [5, 9, 2], [64, 10, 256], [17, 33, 65], [32, 196, 144]];
  for (const form of ['NN', 'NT', 'TN'] as const) {
    for (const [M, N, K] of shapes) {
      it(`${form} ${M}x${N}x${K} agrees with a float64 loop and the js kernel, overwriting and accumulating`, () => {
        const s = strides(form, M, N, K);
        const a = rand(M * K, rng), b = rand(K * N, rng);
        for (const acc of [false, true]) {
          const c0 = rand(M * N, rng);
          const cw = c0.slice(), cj = c0.slice();
          wasmGemmStrided(M, N, K, a, 0, s[0], s[1], b, 0, s[2], s[3], cw, 0, N, acc);
          gemmStridedJs(M, N, K, a, 0, s[0], s[1], b, 0, s[2], s[3], cj, 0, N, acc);
          const ref = naive(M, N, K, a, b, s, c0, N, acc);
          expectNear(cw, ref, K);
          expectNear(cw, cj, K);
        }
      });
    }
  }

  it('honours offsets and a row stride of C larger than N, leaving other cells alone', () => {
    const M = 6, N = 5, K = 9, ldc = 7;
    const a = rand(3 + M * K, rng), b = rand(2 + K * N, rng);
    const c = new Float32Array(4 + M * ldc).fill(1);
    const ref = naive(M, N, K, a.subarray(3), b.subarray(2), [K, 1, N, 1], c.slice(4), ldc, true);
    wasmGemmStrided(M, N, K, a, 3, K, 1, b, 2, N, 1, c, 4, ldc, true);
    for (let i = 0; i < M; i++) {
      expectNear(c.subarray(4 + i * ldc, 4 + i * ldc + N), ref.subarray(i * ldc, i * ldc + N), K);
      for (let j = N; j < ldc && 4 + i * ldc + j < c.length; j++) expect(c[4 + i * ldc + j]).toBe(1);
    }
    expect(Array.from(c.subarray(0, 4))).toEqual([1, 1, 1, 1]);
  });

  it('uses operands that live in the kernel memory in place, with the same result', () => {
    const rt = wasmRuntime();
    const M = 13, N = 21, K = 30;
    const a = rt.allocFloats(M * K)!, b = rt.allocFloats(K * N)!, c = rt.allocFloats(M * N)!;
    expect(rt.holds(a)).toBe(true);
    rand(M * K, rng, a);
    rand(K * N, rng, b);
    wasmGemmStrided(M, N, K, a, 0, K, 1, b, 0, 1, K, c, 0, N, false);
    const outside = new Float32Array(M * N);
    wasmGemmStrided(M, N, K, a.slice(), 0, K, 1, b.slice(), 0, 1, K, outside, 0, N, false);
    expect(Array.from(c)).toEqual(Array.from(outside));
    expectNear(c, naive(M, N, K, a, b, [K, 1, 1, K], new Float32Array(M * N), N, false), K);
    // views made before the memory grows stay valid after it
    const big = rt.allocFloats(4 << 20)!;
    big[big.length - 1] = 5;
    expect(Array.from(c)).toEqual(Array.from(outside));
    rt.releaseFloats(big);
    for (const t of [a, b, c]) rt.releaseFloats(t);
  });

  it('computes a hand-worked 2x2 product', () => {
    const c = new Float32Array(4);
    wasmGemmStrided(2, 2, 2, Float32Array.from([1, 2, 3, 4]), 0, 2, 1, Float32Array.from([5, 6, 7, 8]), 0, 2, 1, c, 0, 2, false);
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
  });

  it('is bit-identical run to run', () => {
    const M = 33, N = 40, K = 77;
    const a = rand(M * K, rng), b = rand(K * N, rng);
    const c1 = new Float32Array(M * N), c2 = new Float32Array(M * N);
    wasmGemmStrided(M, N, K, a, 0, K, 1, b, 0, N, 1, c1, 0, N, false);
    wasmGemmStrided(M, N, K, a, 0, K, 1, b, 0, N, 1, c2, 0, N, false);
    expect(Array.from(c2)).toEqual(Array.from(c1));
  });
});
