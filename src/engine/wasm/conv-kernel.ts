// im2col and its adjoint col2im for the kernel module (see ../conv2d.ts for the layout):
// x [C, H, W] <-> col [C*kH*kW, outH*outW], zero padding, stride, dilation. Each (c, i, j, oy)
// row copies the run of output columns whose taps land inside the input (four at a time when
// the stride is 1) and writes zeros for the rest.
import { F32, F32x4, Func, I32, V128, block, brIf, forRange, get, i32, if_, loop, select, set, sumLanes, elementAt as at, v128, type Code } from './asm.ts';

// geometry parameters shared by both functions (all counts; addresses in bytes)
const GEOMETRY = ['C', 'H', 'W', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'padTop', 'padLeft', 'outH', 'outW'] as const;

function convFunc(name: string, adjoint: boolean): Func {
  // im2col(x, col, ...geometry): col = im2col(x); col2im(dx, col, ...geometry): dx += im2col's adjoint of col
  const f = new Func(name, new Array(2 + GEOMETRY.length).fill(i32));
  const [xAddr, colAddr, C, H, W, kH, kW, sH, sW, dH, dW, padTop, padLeft, outH, outW] = f.params;
  const [c, i, j, oy, ox, iy, shift, ox0, ox1, src, dst, vecEnd, plane] = f.localsOf(i32, 13);
  const k = I32.const;
  // [ox0, ox1): output columns whose tap ox*sW + shift lies in [0, W)
  const bounds: Code[] = [
    set(shift, I32.sub(I32.mul(get(j), get(dW)), get(padLeft))),
    set(ox0, I32.min(get(outW), I32.max(k(0), I32.divS(I32.add(I32.sub(k(0), get(shift)), I32.sub(get(sW), k(1))), get(sW))))),
    set(ox1, I32.max(get(ox0), I32.min(get(outW),
      select(k(0), I32.add(I32.divS(I32.sub(I32.sub(get(W), k(1)), get(shift)), get(sW)), k(1)),
        I32.ltS(I32.sub(I32.sub(get(W), k(1)), get(shift)), k(0)))))),
  ];
  // one (c, i, j, oy) row: dst walks col, src walks x
  const zeroRun = (from: Code, to: Code): Code[] => adjoint ? [] : [
    set(ox, from),
    block(brIf(0, I32.geS(get(ox), to)), loop(
      F32.store(I32.add(get(dst), I32.shl(get(ox), k(2))), F32.const(0)),
      set(ox, I32.add(get(ox), k(1))),
      brIf(0, I32.ltS(get(ox), to)),
    )),
  ];
  const move = (colAt: Code, xAt: Code, vec: boolean): Code => adjoint
    ? (vec ? V128.store(xAt, F32x4.add(V128.load(xAt), V128.load(colAt))) : F32.store(xAt, F32.add(F32.load(xAt), F32.load(colAt))))
    : (vec ? V128.store(colAt, V128.load(xAt)) : F32.store(colAt, F32.load(xAt)));
  const row: Code[] = [
    set(iy, I32.sub(I32.add(I32.mul(get(oy), get(sH)), I32.mul(get(i), get(dH))), get(padTop))),
    if_(I32.or(I32.ltS(get(iy), k(0)), I32.geS(get(iy), get(H))),
      zeroRun(k(0), get(outW)),
      [
        ...zeroRun(k(0), get(ox0)),
        // x address of tap ox: plane + (iy*W + ox*sW + shift)*4
        set(src, I32.add(get(plane), I32.shl(I32.add(I32.add(I32.mul(get(iy), get(W)), I32.mul(get(ox0), get(sW))), get(shift)), k(2)))),
        set(ox, get(ox0)),
        if_(I32.eq(get(sW), k(1)), [
          set(vecEnd, I32.sub(get(ox1), k(3))),
          block(brIf(0, I32.geS(get(ox), get(vecEnd))), loop(
            move(I32.add(get(dst), I32.shl(get(ox), k(2))), get(src), true),
            set(src, I32.add(get(src), k(16))),
            set(ox, I32.add(get(ox), k(4))),
            brIf(0, I32.ltS(get(ox), get(vecEnd))),
          )),
        ]),
        block(brIf(0, I32.geS(get(ox), get(ox1))), loop(
          move(I32.add(get(dst), I32.shl(get(ox), k(2))), get(src), false),
          set(src, I32.add(get(src), I32.shl(get(sW), k(2)))),
          set(ox, I32.add(get(ox), k(1))),
          brIf(0, I32.ltS(get(ox), get(ox1))),
        )),
        ...zeroRun(get(ox1), get(outW)),
      ]),
    set(dst, I32.add(get(dst), I32.shl(get(outW), k(2)))),
  ];
  f.body = [
    ...set(dst, get(colAddr)),
    ...forRange(c, k(0), get(C), k(1),
      set(plane, I32.add(get(xAddr), I32.shl(I32.mul(get(c), I32.mul(get(H), get(W))), k(2)))),
      forRange(i, k(0), get(kH), k(1),
        forRange(j, k(0), get(kW), k(1),
          ...bounds,
          forRange(oy, k(0), get(outH), k(1), ...row),
        ),
      ),
    ),
  ];
  return f;
}

/**
 * im2colSame(x, col, C, H, W, kH, kW, padTop, padLeft) / col2imSame(dx, col, ...): the same for
 * stride 1, no dilation and 'same' output (outH = H, outW = W), where each (c, i, j) row of col
 * is the whole input plane shifted by (i - padTop)*W + (j - padLeft): one long run of f32x4 copies
 * (adds), then the columns that wrapped around a row edge are zeroed (for col2im: zeroed in col
 * before adding, since col is scratch the product rewrites). Rows of 14 made the general kernel's
 * per-row set-up cost as much as the GEMM.
 */
function sameFunc(name: string, adjoint: boolean): Func {
  const f = new Func(name, new Array(9).fill(i32));
  const [xAddr, colAddr, C, H, W, kH, kW, padTop, padLeft] = f.params;
  const [c, i, j, p, lo, hi, hi4, plane, shift, dxs, row, oy, src, dst, x0, x1] = f.localsOf(i32, 16);
  const k = I32.const;
  const zeros = (from: Code, to: Code): Code => forRange(p, from, to, k(1), F32.store(at(dst, get(p)), F32.const(0)));
  // columns [x0, x1) of every row of dst: the taps that fell off a row edge
  const fixColumns: Code = forRange(oy, k(0), get(H), k(1),
    set(row, I32.add(get(dst), I32.shl(I32.mul(get(oy), get(W)), k(2)))),
    forRange(p, get(x0), get(x1), k(1), F32.store(at(row, get(p)), F32.const(0))),
  );
  const vecMove = adjoint
    ? V128.store(at(src, get(p)), F32x4.add(V128.load(at(src, get(p))), V128.load(at(dst, get(p)))))
    : V128.store(at(dst, get(p)), V128.load(at(src, get(p))));
  const oneMove = adjoint
    ? F32.store(at(src, get(p)), F32.add(F32.load(at(src, get(p))), F32.load(at(dst, get(p)))))
    : F32.store(at(dst, get(p)), F32.load(at(src, get(p))));
  f.body = [
    ...set(plane, I32.mul(get(H), get(W))),
    ...set(dst, get(colAddr)),
    ...forRange(c, k(0), get(C), k(1),
      forRange(i, k(0), get(kH), k(1),
        forRange(j, k(0), get(kW), k(1),
          set(dxs, I32.sub(get(j), get(padLeft))),
          set(shift, I32.add(I32.mul(I32.sub(get(i), get(padTop)), get(W)), get(dxs))),
          // x0..x1: the wrapped columns (none when dxs = 0)
          set(x0, select(k(0), I32.sub(get(W), get(dxs)), I32.ltS(get(dxs), k(0)))),
          set(x1, select(I32.sub(k(0), get(dxs)), get(W), I32.ltS(get(dxs), k(0)))),
          set(x0, I32.min(I32.max(get(x0), k(0)), get(W))),
          // src = x plane + shift, so dst[p] pairs with src[p] for p in [lo, hi)
          set(src, I32.add(I32.add(get(xAddr), I32.shl(I32.mul(get(c), get(plane)), k(2))), I32.shl(get(shift), k(2)))),
          set(lo, I32.max(k(0), I32.sub(k(0), get(shift)))),
          set(hi, I32.max(get(lo), I32.min(get(plane), I32.sub(get(plane), get(shift))))),
          ...(adjoint ? [fixColumns] : [zeros(k(0), get(lo))]),
          set(hi4, I32.sub(get(hi), k(3))),
          set(p, get(lo)),
          block(brIf(0, I32.geS(get(p), get(hi4))), loop(vecMove, set(p, I32.add(get(p), k(4))), brIf(0, I32.ltS(get(p), get(hi4))))),
          block(brIf(0, I32.geS(get(p), get(hi))), loop(oneMove, set(p, I32.add(get(p), k(1))), brIf(0, I32.ltS(get(p), get(hi))))),
          ...(adjoint ? [] : [zeros(get(hi), get(plane)), fixColumns]),
          set(dst, I32.add(get(dst), I32.shl(get(plane), k(2)))),
        ),
      ),
    ),
  ];
  return f;
}

/**
 * dotRows(a, aStride, M, b, bStride, N, len, c, ldc): c[i, j] += Σ_t a[i, t] · b[j, t] for i < M
 * (a multiple of 4), j < N, t < len (a multiple of 4); strides in bytes. The weight gradient of a
 * convolution with few taps per output (the first layer's 9): packing its columns for the GEMM
 * cost more than the products, and these dot products need no packing. Four rows of a against
 * two of b at a time; each sum is kept as four lanes, added up at the end.
 */
function dotRowsFunc(): Func {
  const f = new Func('dotRows', [i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [a, aStride, M, b, bStride, N, len, c, ldc] = f.params;
  const [i, j, t, a0, b0, cc, bytes, jn] = f.localsOf(i32, 8);
  const acc = f.localsOf(v128, 8);
  const [x0, x1, x2, x3, y0, y1] = f.localsOf(v128, 6);
  const k = I32.const;
  const aRow = (r: number) => I32.add(get(a0), I32.mul(k(r), get(aStride)));
  // c[i + r, j + q] += the lanes of acc[2r + q]
  const flush = (cols: number): Code[] => Array.from({ length: 4 * cols }, (_, n) => {
    const r = Math.floor(n / cols), q = n % cols;
    const at = I32.add(get(cc), I32.add(I32.mul(k(r), get(ldc)), k(4 * q)));
    return F32.store(at, F32.add(F32.load(at), sumLanes(get(acc[2 * r + q]))));
  });
  const tile = (cols: number): Code[] => [
    set(cc, I32.add(get(c), I32.add(I32.mul(get(i), get(ldc)), I32.shl(get(j), k(2))))),
    set(a0, I32.add(get(a), I32.mul(get(i), get(aStride)))),
    set(b0, I32.add(get(b), I32.mul(get(j), get(bStride)))),
    ...acc.map((v) => set(v, V128.zero())),
    forRange(t, k(0), get(bytes), k(16),
      set(x0, V128.load(I32.add(aRow(0), get(t)))),
      set(x1, V128.load(I32.add(aRow(1), get(t)))),
      set(x2, V128.load(I32.add(aRow(2), get(t)))),
      set(x3, V128.load(I32.add(aRow(3), get(t)))),
      set(y0, V128.load(I32.add(get(b0), get(t)))),
      ...(cols === 2 ? [set(y1, V128.load(I32.add(I32.add(get(b0), get(bStride)), get(t))))] : []),
      ...[x0, x1, x2, x3].flatMap((x, r) => [
        set(acc[2 * r], F32x4.add(get(acc[2 * r]), F32x4.mul(get(x), get(y0)))),
        ...(cols === 2 ? [set(acc[2 * r + 1], F32x4.add(get(acc[2 * r + 1]), F32x4.mul(get(x), get(y1))))] : []),
      ]),
    ),
    ...flush(cols),
  ];
  f.body = [
    ...set(bytes, I32.shl(get(len), k(2))),
    ...set(jn, I32.and(get(N), k(~1))),
    ...forRange(i, k(0), get(M), k(4),
      forRange(j, k(0), get(jn), k(2), ...tile(2)),
      forRange(j, get(jn), get(N), k(1), ...tile(1)),
    ),
  ];
  return f;
}

export function convFuncs(): Func[] {
  return [convFunc('im2col', false), convFunc('col2im', true), sameFunc('im2colSame', false), sameFunc('col2imSame', true), dotRowsFunc()];
}

