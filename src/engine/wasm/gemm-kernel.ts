// The WebAssembly GEMM: C (+)= op(A) · op(B) in float32 with f32x4 lanes, as functions for the
// kernel module (kernels.ts). A is packed into panels of MR rows and B into panels of NR columns
// (k-major, zero-padded), then a 4x8 register block of C (eight f32x4 accumulators) walks K.
// Plain mul + add (no fused multiply-add), so every CPU rounds the same way.
//
// All addresses and strides are in bytes. A(i,k) = a + i*ars + k*acs, B(k,j) = b + k*brs + j*bcs,
// C(i,j) = c + i*ldc + j*4.
import {
  F32, F32x4, Func, I32, V128, block, brIf, doWhile, forRange, get, i32, if_, set, tee, v128, type Code,
} from './asm.ts';

/** Rows of A and columns of B per register block. */
export const WASM_MR = 4;
export const WASM_NR = 8;

/** Bytes of packed A panels for M rows by K (or B panels for N columns, with NR). */
export function packedBytes(rows: number, K: number, R: number): number {
  return Math.ceil(rows / R) * R * K * 4;
}

/**
 * packA(M, K, a, ars, acs, out, stride): MR-row panels `stride` bytes apart (16*K when packed
 * alone), K groups of MR floats each; rows past M are zero. A larger stride lets several calls
 * fill consecutive K ranges of one panel set (a product summed over images).
 */
export function packAFunc(): Func {
  const f = new Func('packA', [i32, i32, i32, i32, i32, i32, i32]);
  const [M, K, a, ars, acs, out, stride] = f.params;
  const [ib, r, i, k, src, dst, blocks] = f.localsOf(i32, 7);
  const c = I32.const;
  f.body = [
    ...set(blocks, I32.shrS(I32.add(get(M), c(WASM_MR - 1)), c(2))),
    ...forRange(ib, c(0), get(blocks), c(1),
      // a transposed A (ars = 4 bytes) with a whole block: MR adjacent floats per k
      if_(I32.and(I32.eq(get(ars), c(4)), I32.leS(I32.add(I32.shl(get(ib), c(2)), c(WASM_MR)), get(M))), [
        set(src, I32.add(get(a), I32.shl(get(ib), c(4)))),
        set(dst, I32.add(get(out), I32.mul(get(ib), get(stride)))),
        forRange(k, c(0), get(K), c(1),
          V128.store(get(dst), V128.load(get(src))),
          set(src, I32.add(get(src), get(acs))),
          set(dst, I32.add(get(dst), c(16))),
        ),
      ], [
        forRange(r, c(0), c(WASM_MR), c(1),
          set(i, I32.add(I32.shl(get(ib), c(2)), get(r))),
          set(dst, I32.add(I32.add(get(out), I32.mul(get(ib), get(stride))), I32.shl(get(r), c(2)))),
          if_(I32.ltS(get(i), get(M)), [
            set(src, I32.add(get(a), I32.mul(get(i), get(ars)))),
            forRange(k, c(0), get(K), c(1),
              F32.store(get(dst), F32.load(get(src))),
              set(src, I32.add(get(src), get(acs))),
              set(dst, I32.add(get(dst), c(16))),
            ),
          ], [
            forRange(k, c(0), get(K), c(1),
              F32.store(get(dst), F32.const(0)),
              set(dst, I32.add(get(dst), c(16))),
            ),
          ]),
        ),
      ]),
    ),
  ].flat();
  return f;
}

/** packB(N, K, b, brs, bcs, out, stride): NR-column panels `stride` bytes apart (32*K alone), as packA. */
export function packBFunc(): Func {
  const f = new Func('packB', [i32, i32, i32, i32, i32, i32, i32]);
  const [N, K, b, brs, bcs, out, stride] = f.params;
  const [jb, s, j, k, src, dst, blocks] = f.localsOf(i32, 7);
  const c = I32.const;
  f.body = [
    ...set(blocks, I32.shrS(I32.add(get(N), c(WASM_NR - 1)), c(3))),
    ...forRange(jb, c(0), get(blocks), c(1),
      // row-major B with a whole block: NR adjacent floats per k
      if_(I32.and(I32.eq(get(bcs), c(4)), I32.leS(I32.add(I32.shl(get(jb), c(3)), c(WASM_NR)), get(N))), [
        set(src, I32.add(get(b), I32.shl(get(jb), c(5)))),
        set(dst, I32.add(get(out), I32.mul(get(jb), get(stride)))),
        forRange(k, c(0), get(K), c(1),
          V128.store(get(dst), V128.load(get(src))),
          V128.store(get(dst), V128.load(get(src), 16), 16),
          set(src, I32.add(get(src), get(brs))),
          set(dst, I32.add(get(dst), c(32))),
        ),
      ], [
        forRange(s, c(0), c(WASM_NR), c(1),
          set(j, I32.add(I32.shl(get(jb), c(3)), get(s))),
          set(dst, I32.add(I32.add(get(out), I32.mul(get(jb), get(stride))), I32.shl(get(s), c(2)))),
          if_(I32.ltS(get(j), get(N)), [
            set(src, I32.add(get(b), I32.mul(get(j), get(bcs)))),
            forRange(k, c(0), get(K), c(1),
              F32.store(get(dst), F32.load(get(src))),
              set(src, I32.add(get(src), get(brs))),
              set(dst, I32.add(get(dst), c(32))),
            ),
          ], [
            forRange(k, c(0), get(K), c(1),
              F32.store(get(dst), F32.const(0)),
              set(dst, I32.add(get(dst), c(32))),
            ),
          ]),
        ),
      ]),
    ),
  ].flat();
  return f;
}

/**
 * gemmPacked(M, N, K, pa, aStride, pb, bStride, c, ldc, accumulate, edge): C (+)= A·B over K
 * steps of the panels from packA / packB (aStride, bStride bytes apart); `edge` is 128 bytes of
 * scratch for blocks that overhang C. K must be >= 1.
 * gemmRows(..., edge, bk) reads B unpacked instead: row k of a block at pb + jb*bStride + k*bk
 * (bStride 32 for a row-major B with rows bk bytes apart); a block that overhangs N reads up to
 * seven floats past a row's end, whose products are then dropped.
 */
export function gemmPackedFunc(rowB = false): Func {
  const f = new Func(rowB ? 'gemmRows' : 'gemmPacked', new Array(rowB ? 12 : 11).fill(i32));
  const [M, N, K, pa, aStride, pb, bStride, cAddr, ldc, accumulate, edge, bk] = f.params;
  const [ib, jb, mBlocks, nBlocks, pA, pB, pEnd, cp, r, s, q] = f.localsOf(i32, 11);
  const acc = f.localsOf(v128, 8); // acc[2r + h]: row r, columns 4h .. 4h+3
  const [av, b0, b1] = f.localsOf(v128, 3);
  const c = I32.const;

  // one k step: two B vectors, then each of the four A values splatted against them
  const kStep: Code[] = [
    set(b0, V128.load(get(pB))),
    set(b1, V128.load(get(pB), 16)),
  ];
  for (let row = 0; row < WASM_MR; row++) {
    kStep.push(
      set(av, V128.load32Splat(get(pA), 4 * row)),
      set(acc[2 * row], F32x4.add(get(acc[2 * row]), F32x4.mul(get(av), get(b0)))),
      set(acc[2 * row + 1], F32x4.add(get(acc[2 * row + 1]), F32x4.mul(get(av), get(b1)))),
    );
  }

  const storeFull: Code[] = [];
  for (let row = 0; row < WASM_MR; row++) {
    for (let h = 0; h < 2; h++) {
      const a = acc[2 * row + h];
      storeFull.push(if_(get(accumulate),
        [V128.store(get(cp), F32x4.add(V128.load(get(cp), 16 * h), get(a)), 16 * h)],
        [V128.store(get(cp), get(a), 16 * h)]));
    }
    storeFull.push(set(cp, I32.add(get(cp), get(ldc))));
  }
  const storeEdge: Code[] = acc.map((a, n) => V128.store(get(edge), get(a), 16 * n));
  // cells inside C only: rows r < M - i0, columns s < N - j0
  const cell = I32.add(I32.add(get(cAddr), I32.mul(I32.add(I32.shl(get(ib), c(2)), get(r)), get(ldc))), I32.shl(I32.add(I32.shl(get(jb), c(3)), get(s)), c(2)));
  const tileVal = F32.load(I32.add(get(edge), I32.shl(I32.add(I32.shl(get(r), c(3)), get(s)), c(2))));
  storeEdge.push(
    set(r, c(0)),
    block(doWhile(
      I32.and(I32.ltS(get(r), c(WASM_MR)), I32.ltS(I32.add(I32.shl(get(ib), c(2)), get(r)), get(M))),
      set(s, c(0)),
      block(doWhile(
        I32.and(I32.ltS(get(s), c(WASM_NR)), I32.ltS(I32.add(I32.shl(get(jb), c(3)), get(s)), get(N))),
        set(q, cell),
        if_(get(accumulate),
          [F32.store(get(q), F32.add(F32.load(get(q)), tileVal))],
          [F32.store(get(q), tileVal)]),
        set(s, I32.add(get(s), c(1))),
      )),
      set(r, I32.add(get(r), c(1))),
    )),
  );

  f.body = [
    ...set(mBlocks, I32.shrS(I32.add(get(M), c(WASM_MR - 1)), c(2))),
    ...set(nBlocks, I32.shrS(I32.add(get(N), c(WASM_NR - 1)), c(3))),
    ...forRange(jb, c(0), get(nBlocks), c(1),
      forRange(ib, c(0), get(mBlocks), c(1),
        ...acc.map((a) => set(a, V128.zero())),
        set(pA, I32.add(get(pa), I32.mul(get(ib), get(aStride)))),
        set(pB, I32.add(get(pb), I32.mul(get(jb), get(bStride)))),
        set(pEnd, I32.add(get(pA), I32.shl(get(K), c(4)))),
        doWhile(
          I32.ltU(tee(pA, I32.add(get(pA), c(16))), get(pEnd)),
          ...kStep,
          set(pB, I32.add(get(pB), rowB ? get(bk) : c(32))),
        ),
        if_(I32.and(
          I32.leS(I32.add(I32.shl(get(ib), c(2)), c(WASM_MR)), get(M)),
          I32.leS(I32.add(I32.shl(get(jb), c(3)), c(WASM_NR)), get(N)),
        ), [
          set(cp, I32.add(get(cAddr), I32.add(I32.mul(I32.shl(get(ib), c(2)), get(ldc)), I32.shl(get(jb), c(5))))),
          ...storeFull,
        ], storeEdge),
      ),
    ),
  ].flat();
  return f;
}
