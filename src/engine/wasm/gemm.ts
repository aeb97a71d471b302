// GEMM entry points of the wasm backend, with the same arguments as the plain kernels in
// ../gemm.ts (element offsets and strides): operands that live in the kernel memory are used in
// place, others are copied in (and C back out) around the call.
import { WASM_MR, WASM_NR, packedBytes } from './gemm-kernel.ts';
import { wasmRuntime } from './runtime.ts';

/**
 * C(i,j) = c[cOff + i*ldc + j] (+)= Σ_k A(i,k)·B(k,j) with A(i,k) = a[aOff + i*ars + k*acs] and
 * B(k,j) = b[bOff + k*brs + j*bcs], in float32 (four lanes at a time).
 */
export function wasmGemmStrided(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, ars: number, acs: number,
  b: Float32Array, bOff: number, brs: number, bcs: number,
  c: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  const rt = wasmRuntime();
  const aN = (M - 1) * ars + (K - 1) * acs + 1;
  const bN = (K - 1) * brs + (N - 1) * bcs + 1;
  const cIn = rt.holds(c);
  const cN = cIn ? 0 : M * N; // C from outside is staged compact, ldc = N
  rt.begin(rt.stageBytes(a, aN) + rt.stageBytes(b, bN) + cN * 4 + packedBytes(M, K, WASM_MR) + packedBytes(N, K, WASM_NR) + 160);
  const pa = rt.place(a, aOff, aN);
  const pb = rt.place(b, bOff, bN);
  let pc: number, ldcBytes: number;
  if (cIn) {
    pc = c.byteOffset + cOff * 4;
    ldcBytes = ldc * 4;
  } else {
    pc = rt.scratch(cN * 4);
    ldcBytes = N * 4;
    if (accumulate) {
      const mem = rt.f32;
      if (ldc === N) mem.set(c.subarray(cOff, cOff + M * N), pc >> 2);
      else for (let i = 0; i < M; i++) mem.set(c.subarray(cOff + i * ldc, cOff + i * ldc + N), (pc >> 2) + i * N);
    }
  }
  const packedA = rt.scratch(packedBytes(M, K, WASM_MR));
  const packedB = rt.scratch(packedBytes(N, K, WASM_NR));
  const edge = rt.scratch(128);
  const { k } = rt;
  k.packA(M, K, pa, ars * 4, acs * 4, packedA, 16 * K);
  k.packB(N, K, pb, brs * 4, bcs * 4, packedB, 32 * K);
  k.gemmPacked(M, N, K, packedA, 16 * K, packedB, 32 * K, pc, ldcBytes, accumulate ? 1 : 0, edge);
  if (!cIn) {
    const mem = rt.f32, p = pc >> 2;
    if (ldc === N) c.set(mem.subarray(p, p + M * N), cOff);
    else for (let i = 0; i < M; i++) c.set(mem.subarray(p + i * N, p + i * N + N), cOff + i * ldc);
  }
}
