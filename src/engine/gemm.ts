// Single-precision matrix products for every layer: C (+)= op(A) · op(B) on row-major
// Float32Arrays, register-blocked 4×4 over packed panels, without materialized transposes.
//
// The three forms a linear or convolution layer needs:
//   gemmNN: C[M,N] = A[M,K]   · B[K,N]      (linear dx, conv forward)
//   gemmNT: C[M,N] = A[M,K]   · B[N,K]^T    (linear forward, conv dweight)
//   gemmTN: C[M,N] = A[K,M]^T · B[K,N]      (linear dweight, conv dcol)
// `accumulate` adds into C (gradients accumulate until zeroGrad) instead of overwriting it.

// Packed panels live in float64 scratch so the inner loop loads doubles directly; they are
// grown on demand and reused, so steady-state training allocates nothing here.
let packA = new Float64Array(0);
let packB = new Float64Array(0);

function scratchA(n: number): Float64Array {
  if (packA.length < n) packA = new Float64Array(n);
  return packA;
}
function scratchB(n: number): Float64Array {
  if (packB.length < n) packB = new Float64Array(n);
  return packB;
}

const MR = 4;
const NR = 4;

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
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  const mBlocks = Math.ceil(M / MR);
  const nBlocks = Math.ceil(N / NR);
  // Ap: for each 4-row block, K groups of 4 values (k-major); rows past M are zero.
  const Ap = scratchA(mBlocks * MR * K);
  for (let ib = 0; ib < mBlocks; ib++) {
    const base = ib * MR * K;
    for (let r = 0; r < MR; r++) {
      const i = ib * MR + r;
      let p = base + r;
      if (i < M) {
        let q = aOff + i * ars;
        for (let k = 0; k < K; k++, p += MR, q += acs) Ap[p] = a[q];
      } else {
        for (let k = 0; k < K; k++, p += MR) Ap[p] = 0;
      }
    }
  }
  // Bp: for each 4-column block, K groups of 4 values; columns past N are zero.
  const Bp = scratchB(nBlocks * NR * K);
  for (let jb = 0; jb < nBlocks; jb++) {
    const base = jb * NR * K;
    for (let s = 0; s < NR; s++) {
      const j = jb * NR + s;
      let p = base + s;
      if (j < N) {
        let q = bOff + j * bcs;
        for (let k = 0; k < K; k++, p += NR, q += brs) Bp[p] = b[q];
      } else {
        for (let k = 0; k < K; k++, p += NR) Bp[p] = 0;
      }
    }
  }
  for (let jb = 0; jb < nBlocks; jb++) {
    const j0 = jb * NR;
    const pb0 = jb * NR * K;
    for (let ib = 0; ib < mBlocks; ib++) {
      const i0 = ib * MR;
      let pa = ib * MR * K;
      let pb = pb0;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const a0 = Ap[pa], a1 = Ap[pa + 1], a2 = Ap[pa + 2], a3 = Ap[pa + 3];
        const b0 = Bp[pb], b1 = Bp[pb + 1], b2 = Bp[pb + 2], b3 = Bp[pb + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        pa += MR;
        pb += NR;
      }
      if (i0 + MR <= M && j0 + NR <= N) {
        let q = cOff + i0 * ldc + j0;
        if (accumulate) {
          c[q] += c00; c[q + 1] += c01; c[q + 2] += c02; c[q + 3] += c03; q += ldc;
          c[q] += c10; c[q + 1] += c11; c[q + 2] += c12; c[q + 3] += c13; q += ldc;
          c[q] += c20; c[q + 1] += c21; c[q + 2] += c22; c[q + 3] += c23; q += ldc;
          c[q] += c30; c[q + 1] += c31; c[q + 2] += c32; c[q + 3] += c33;
        } else {
          c[q] = c00; c[q + 1] = c01; c[q + 2] = c02; c[q + 3] = c03; q += ldc;
          c[q] = c10; c[q + 1] = c11; c[q + 2] = c12; c[q + 3] = c13; q += ldc;
          c[q] = c20; c[q + 1] = c21; c[q + 2] = c22; c[q + 3] = c23; q += ldc;
          c[q] = c30; c[q + 1] = c31; c[q + 2] = c32; c[q + 3] = c33;
        }
      } else {
        // edge block: write only the cells inside C
        const blk = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let r = 0; r < MR && i0 + r < M; r++) {
          for (let s = 0; s < NR && j0 + s < N; s++) {
            const q = cOff + (i0 + r) * ldc + j0 + s;
            c[q] = accumulate ? c[q] + blk[r * NR + s] : blk[r * NR + s];
          }
        }
      }
    }
  }
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
