// Single-precision matrix products for every layer: C (+)= op(A) · op(B) on row-major
// Float32Arrays, register-blocked 4×3 over packed float64 panels, without materialized transposes.
//
// The three forms a linear or convolution layer needs:
//   gemmNN: C[M,N] = A[M,K]   · B[K,N]      (linear dx, conv forward)
//   gemmNT: C[M,N] = A[M,K]   · B[N,K]^T    (linear forward, conv dweight)
//   gemmTN: C[M,N] = A[K,M]^T · B[K,N]      (linear dweight, conv dcol)
// `accumulate` adds into C (gradients accumulate until zeroGrad) instead of overwriting it.
//
// Callers that reuse an operand across many products (conv weights over a batch) pack it once
// with packA/packB and call gemmPacked directly.
//
// With the wasm backend (backend.ts) the named forms run the f32x4 kernels of wasm/gemm.ts; the
// code here is the js backend and the reference those kernels are tested against.
import { useWasm } from './backend.ts';
import { wasmGemmStrided } from './wasm/gemm.ts';

/** Rows of A per register block. */
export const MR = 4;
/** Columns of B per register block. */
export const NR = 3;

// NOTE: 4×3 with the four A values loaded one at a time keeps 12 accumulators + 3 B values + 1 A
// value in x64's 16 float registers; V8 spills with 4×4, and measured 5–10% slower at our shapes.
// Panels are float64 so the inner loop loads doubles without a conversion.

/** Floats a packA of M rows (or packB of N columns, with NR) by K needs. */
export function packedSize(rows: number, K: number, R: number): number {
  return Math.ceil(rows / R) * R * K;
}

/**
 * Packs A(i,k) = a[aOff + i*ars + k*acs], i < M, into out[outOff ..]: for each block of MR rows,
 * K groups of MR values (k-major); rows past M are zero.
 */
export function packA(
  M: number, K: number, a: Float32Array, aOff: number, ars: number, acs: number, out: Float64Array, outOff = 0,
): void {
  const blocks = Math.ceil(M / MR);
  for (let ib = 0; ib < blocks; ib++) {
    const base = outOff + ib * MR * K;
    for (let r = 0; r < MR; r++) {
      const i = ib * MR + r;
      let p = base + r;
      if (i < M) {
        if (acs === 1) for (let q = aOff + i * ars, e = q + K; q < e; q++, p += MR) out[p] = a[q];
        else for (let k = 0, q = aOff + i * ars; k < K; k++, p += MR, q += acs) out[p] = a[q];
      } else {
        for (let k = 0; k < K; k++, p += MR) out[p] = 0;
      }
    }
  }
}

/**
 * Packs B(k,j) = b[bOff + k*brs + j*bcs], j < N, into out[outOff ..]: for each block of NR
 * columns, K groups of NR values (k-major); columns past N are zero.
 */
export function packB(
  N: number, K: number, b: Float32Array, bOff: number, brs: number, bcs: number, out: Float64Array, outOff = 0,
): void {
  const blocks = Math.ceil(N / NR);
  for (let jb = 0; jb < blocks; jb++) {
    const base = outOff + jb * NR * K;
    const j0 = jb * NR;
    if (j0 + NR <= N && bcs === 1) {
      // row-major B: three adjacent values per k
      for (let k = 0, p = base, q = bOff + j0; k < K; k++, p += NR, q += brs) {
        out[p] = b[q];
        out[p + 1] = b[q + 1];
        out[p + 2] = b[q + 2];
      }
      continue;
    }
    for (let s = 0; s < NR; s++) {
      const j = j0 + s;
      let p = base + s;
      if (j < N) {
        if (brs === 1) for (let q = bOff + j * bcs, e = q + K; q < e; q++, p += NR) out[p] = b[q];
        else for (let k = 0, q = bOff + j * bcs; k < K; k++, p += NR, q += brs) out[p] = b[q];
      } else {
        for (let k = 0; k < K; k++, p += NR) out[p] = 0;
      }
    }
  }
}

const edge = new Float64Array(MR * NR);

/**
 * C(i,j) = c[cOff + i*ldc + j] (+)= Σ_k A(i,k)·B(k,j) [+ rowBias[biasOff + i]] for panels made
 * by packA (at ap[apOff ..]) and packB (at bp[bpOff ..]) with the same K.
 */
export function gemmPacked(
  M: number, N: number, K: number,
  ap: Float64Array, apOff: number, bp: Float64Array, bpOff: number,
  c: Float32Array, cOff: number, ldc: number, accumulate: boolean,
  rowBias: Float32Array | null = null, biasOff = 0,
): void {
  const mBlocks = Math.ceil(M / MR);
  const nBlocks = Math.ceil(N / NR);
  for (let jb = 0; jb < nBlocks; jb++) {
    const j0 = jb * NR;
    const pb0 = bpOff + jb * NR * K;
    for (let ib = 0; ib < mBlocks; ib++) {
      const i0 = ib * MR;
      // the bias (a convolution's, per output channel) seeds the accumulators
      let r0 = 0, r1 = 0, r2 = 0, r3 = 0;
      if (rowBias) {
        const q = biasOff + i0;
        r0 = rowBias[q];
        if (i0 + 1 < M) r1 = rowBias[q + 1];
        if (i0 + 2 < M) r2 = rowBias[q + 2];
        if (i0 + 3 < M) r3 = rowBias[q + 3];
      }
      let c00 = r0, c01 = r0, c02 = r0;
      let c10 = r1, c11 = r1, c12 = r1;
      let c20 = r2, c21 = r2, c22 = r2;
      let c30 = r3, c31 = r3, c32 = r3;
      for (let pa = apOff + ib * MR * K, pb = pb0, e = pa + MR * K; pa < e; pa += MR, pb += NR) {
        const b0 = bp[pb], b1 = bp[pb + 1], b2 = bp[pb + 2];
        let a = ap[pa];
        c00 += a * b0; c01 += a * b1; c02 += a * b2;
        a = ap[pa + 1];
        c10 += a * b0; c11 += a * b1; c12 += a * b2;
        a = ap[pa + 2];
        c20 += a * b0; c21 += a * b1; c22 += a * b2;
        a = ap[pa + 3];
        c30 += a * b0; c31 += a * b1; c32 += a * b2;
      }
      if (i0 + MR <= M && j0 + NR <= N) {
        let q = cOff + i0 * ldc + j0;
        if (accumulate) {
          c[q] += c00; c[q + 1] += c01; c[q + 2] += c02; q += ldc;
          c[q] += c10; c[q + 1] += c11; c[q + 2] += c12; q += ldc;
          c[q] += c20; c[q + 1] += c21; c[q + 2] += c22; q += ldc;
          c[q] += c30; c[q + 1] += c31; c[q + 2] += c32;
        } else {
          c[q] = c00; c[q + 1] = c01; c[q + 2] = c02; q += ldc;
          c[q] = c10; c[q + 1] = c11; c[q + 2] = c12; q += ldc;
          c[q] = c20; c[q + 1] = c21; c[q + 2] = c22; q += ldc;
          c[q] = c30; c[q + 1] = c31; c[q + 2] = c32;
        }
      } else {
        // edge block: write only the cells inside C
        edge[0] = c00; edge[1] = c01; edge[2] = c02;
        edge[3] = c10; edge[4] = c11; edge[5] = c12;
        edge[6] = c20; edge[7] = c21; edge[8] = c22;
        edge[9] = c30; edge[10] = c31; edge[11] = c32;
        for (let r = 0; r < MR && i0 + r < M; r++) {
          for (let s = 0; s < NR && j0 + s < N; s++) {
            const q = cOff + (i0 + r) * ldc + j0 + s;
            c[q] = accumulate ? c[q] + edge[r * NR + s] : edge[r * NR + s];
          }
        }
      }
    }
  }
}

// Scratch for the panels of the convenience forms; grown on demand and reused, so steady-state
// training allocates nothing here.
let scratchA: Float64Array = new Float64Array(0);
let scratchB: Float64Array = new Float64Array(0);

/** A reusable float64 buffer of at least n values, for callers that pack their own panels. */
export function growScratch(buf: Float64Array, n: number): Float64Array {
  return buf.length >= n ? buf : new Float64Array(Math.max(n, Math.ceil(buf.length * 1.5)));
}

/** Whether the product is empty (no rows, columns or reduction), after clearing C for K = 0 unless accumulating. */
function emptyProduct(M: number, N: number, K: number, c: Float32Array, cOff: number, ldc: number, accumulate: boolean): boolean {
  if (M === 0 || N === 0) return true;
  if (K !== 0) return false;
  if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  return true;
}

/**
 * General strided product: A(i,k) = a[aOff + i*ars + k*acs], B(k,j) = b[bOff + k*brs + j*bcs],
 * C(i,j) = c[cOff + i*ldc + j]. The named forms below call this with their strides.
 */
export function gemmStrided(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  b: Float32Array, bOff: number, brs: number, bcs: number,
  c: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  // gemmStridedJs checks for an empty product itself
  if (!useWasm()) gemmStridedJs(M, N, K, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
  else if (!emptyProduct(M, N, K, c, cOff, ldc, accumulate)) wasmGemmStrided(M, N, K, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, ldc, accumulate);
}

/** gemmStrided on the js backend whichever backend is selected (the reference for the wasm kernels). */
export function gemmStridedJs(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  b: Float32Array, bOff: number, brs: number, bcs: number,
  c: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (emptyProduct(M, N, K, c, cOff, ldc, accumulate)) return;
  scratchA = growScratch(scratchA, packedSize(M, K, MR));
  scratchB = growScratch(scratchB, packedSize(N, K, NR));
  packA(M, K, a, aOff, ars, acs, scratchA);
  packB(N, K, b, bOff, brs, bcs, scratchB);
  gemmPacked(M, N, K, scratchA, 0, scratchB, 0, c, cOff, ldc, accumulate);
}

/** C[M,N] (+)= A[M,K] · B[K,N] */
export function gemmNN(
  M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array,
  accumulate = false, aOff = 0, bOff = 0, cOff = 0,
): void {
  gemmStrided(M, N, K, a, aOff, K, 1, b, bOff, N, 1, c, cOff, N, accumulate);
}

/** C[M,N] (+)= A[M,K] · B[N,K]^T */
export function gemmNT(
  M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array,
  accumulate = false, aOff = 0, bOff = 0, cOff = 0,
): void {
  gemmStrided(M, N, K, a, aOff, K, 1, b, bOff, 1, K, c, cOff, N, accumulate);
}

/** C[M,N] (+)= A[K,M]^T · B[K,N] */
export function gemmTN(
  M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array,
  accumulate = false, aOff = 0, bOff = 0, cOff = 0,
): void {
  gemmStrided(M, N, K, a, aOff, 1, M, b, bOff, N, 1, c, cOff, N, accumulate);
}
