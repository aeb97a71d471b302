import { describe, expect, it } from 'vitest';
import { MR, NR, gemmNN, gemmNT, gemmPacked, gemmTN, packA, packB, packedSize } from '../../src/engine/gemm.ts';
import { Rng } from '../../src/engine/rng.ts';

// Reference: float64 triple loop over explicit index functions.
function naive(M: number, N: number, K: number, A: (i: number, k: number) => number, B: (k: number, j: number) => number) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
    c[i * N + j] = s;
  }
  return c;
}

function rand(n: number, rng: Rng) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

function expectClose(actual: Float32Array, expected: Float64Array, off = 0) {
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (!(Math.abs(actual[off + i] - e) <= 1e-5 + 1e-5 * Math.abs(e))) {
      throw new Error(`element ${i}: ${actual[off + i]} vs ${e}`);
    }
  }
}

const shapes = [[1, 1, 1], [3, 5, 7], [4, 4, 4], [5, 9, 2], [64, 10, 256], [17, 33, 65], [8, 3, 0]];

describe('gemm', () => {
  const rng = new Rng(7);
  for (const [M, N, K] of shapes) {
    it(`NN/NT/TN agree with a float64 loop at ${M}x${N}x${K}`, () => {
      const a = rand(M * K, rng), b = rand(K * N, rng), c = new Float32Array(M * N);
      gemmNN(M, N, K, a, b, c);
      expectClose(c, naive(M, N, K, (i, k) => a[i * K + k], (k, j) => b[k * N + j]));
      gemmNT(M, N, K, a, b, c); // b read as [N, K]
      expectClose(c, naive(M, N, K, (i, k) => a[i * K + k], (k, j) => b[j * K + k]));
      gemmTN(M, N, K, a, b, c); // a read as [K, M]
      expectClose(c, naive(M, N, K, (i, k) => a[k * M + i], (k, j) => b[k * N + j]));
    });
  }

  it('accumulates into C and honours offsets', () => {
    const M = 6, N = 5, K = 3;
    const a = rand(2 + M * K, rng), b = rand(3 + K * N, rng);
    const c = new Float32Array(4 + M * N).fill(1);
    gemmNN(M, N, K, a, b, c, true, 2, 3, 4);
    const ref = naive(M, N, K, (i, k) => a[2 + i * K + k], (k, j) => b[3 + k * N + j]).map((v) => v + 1);
    expectClose(c, ref, 4);
    expect(Array.from(c.subarray(0, 4))).toEqual([1, 1, 1, 1]);
  });

  it('computes a hand-worked 2x2 product', () => {
    const c = new Float32Array(4);
    gemmNN(2, 2, 2, Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), c);
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
  });
});

describe('packA / packB / gemmPacked', () => {
  const rng = new Rng(11);
  for (const [M, N, K] of [[6, 7, 5], [4, 3, 9], [1, 2, 1], [13, 11, 17]]) {
    it(`panels from strided operands, a row bias, accumulate and offsets at ${M}x${N}x${K}`, () => {
      // A read transposed from a [K, M] buffer at offset 3; B row-major [K, N] at offset 1
      const a = rand(3 + K * M, rng), b = rand(1 + K * N, rng), bias = rand(2 + M, rng);
      const ap = new Float64Array(5 + packedSize(M, K, MR)).fill(NaN);
      const bp = new Float64Array(packedSize(N, K, NR) + 2).fill(NaN);
      packA(M, K, a, 3, 1, M, ap, 5);
      packB(N, K, b, 1, N, 1, bp, 0);
      const ldc = N + 2;
      const c = new Float32Array(1 + M * ldc).fill(0.25);
      gemmPacked(M, N, K, ap, 5, bp, 0, c, 1, ldc, true, bias, 2);
      const ref = naive(M, N, K, (i, k) => a[3 + k * M + i], (k, j) => b[1 + k * N + j]);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const want = 0.25 + bias[2 + i] + ref[i * N + j];
          expect(Math.abs(c[1 + i * ldc + j] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
        }
        // the padding columns of each row of C are untouched
        expect(c[1 + i * ldc + N]).toBe(0.25);
      }
      expect(c[0]).toBe(0.25);
    });
  }
});
