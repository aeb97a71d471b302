// Winograd F(2x2, 3x3) transforms for the kernel module, four horizontally adjacent tiles per
// f32x4 (the math and the layouts are in ../winograd.ts; the products between them are GEMMs).
// Tile t = ty*tilesW + tx of a plane is column t of a row-major [planes, T] matrix per e = 4i+j:
// rows `rowBytes` apart, the 16 matrices `eBytes` apart. A row's last group of four may spill up
// to three tiles past the row: they land on the next row's first tiles (written after) or in the
// slack the caller leaves past T.
// Addresses and strides in bytes, counts in elements.
import { F32, F32x4, Func, I32, V128, elementAt as at, forRange, get, i32, if_, set, v128, type Code, type Local } from './asm.ts';
import { EVEN, ODD } from './pool-kernel.ts';

// x[0], y[0], x[1], y[1] and x[2], y[2], x[3], y[3] (two outputs per tile, side by side)
const LOW = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
const HIGH = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];

const sub = F32x4.sub, add = F32x4.add;

/**
 * The code that copies an [H, W] plane at byte address `plane` into `pad` (rows PW floats long)
 * at (top, left), four floats at a time; the border the caller zeroed stays zero.
 */
export function copyToPad(f: Func, plane: Code, H: Local, W: Local, top: Local, left: Local, pad: Local, PW: Local): Code[] {
  const [r, q, src, dst, w4, base] = f.localsOf(i32, 6);
  const k = I32.const;
  return [
    set(base, plane),
    set(w4, I32.sub(get(W), k(3))),
    forRange(r, k(0), get(H), k(1),
      set(src, at(base, I32.mul(get(r), get(W)))),
      set(dst, at(pad, I32.add(I32.mul(I32.add(get(r), get(top)), get(PW)), get(left)))),
      forRange(q, k(0), get(w4), k(4), V128.store(at(dst, get(q)), V128.load(at(src, get(q))))),
      forRange(q, get(q), get(W), k(1), F32.store(at(dst, get(q)), F32.load(at(src, get(q))))),
    ),
  ];
}

/**
 * wgInput(x, planes, H, W, top, left, pad, PW, tilesH, tilesW, v, rowBytes, eBytes) and
 * wgGrad(...) with the same parameters: each [H, W] plane of x is copied into `pad` (rows PW
 * floats long, whose border the caller zeroed) at (top, left), then every tile is transformed:
 *   wgInput: V = Bᵀ d B of the 4x4 patch at padded (2ty, 2tx)   (the forward's input transform)
 *   wgGrad:  D = A g Aᵀ of the 2x2 patch at (2ty, 2tx)           (top = left = 0: dy's transform)
 * PW must leave 8 (wgInput) or 6 (wgGrad) readable floats past the last tile's first column.
 */
function transformFunc(name: string, grad: boolean): Func {
  const f = new Func(name, new Array(13).fill(i32));
  const [x, planes, H, W, top, left, pad, PW, tilesH, tilesW, vAddr, rowBytes, eBytes] = f.params;
  const [c, ty, tx, row, out] = f.localsOf(i32, 5);
  const k = I32.const;
  // the patch's columns for four tiles: E[r][j] = padded (2ty + r, 2tx + j) of tiles tx .. tx+3
  const rowsIn = grad ? 2 : 4, colsIn = grad ? 2 : 4;
  const E = Array.from({ length: rowsIn }, () => f.localsOf(v128, colsIn));
  const [l0, l1, l2, l3] = f.localsOf(v128, 4);
  const U = Array.from({ length: rowsIn }, () => f.localsOf(v128, 4));

  const copyPlane = copyToPad(f, I32.add(get(x), I32.shl(I32.mul(I32.mul(get(c), get(H)), get(W)), k(2))), H, W, top, left, pad, PW);

  // one padded row's columns for tiles tx .. tx+3 (deinterleaved), then the row's own combination
  const loadRow = (rr: number): Code[] => {
    const base = I32.add(get(row), I32.mul(k(rr), I32.shl(get(PW), k(2))));
    const code: Code[] = [
      set(l0, V128.load(base)),
      set(l1, V128.load(base, 16)),
      set(E[rr][0], V128.shuffle(get(l0), get(l1), EVEN)),
      set(E[rr][1], V128.shuffle(get(l0), get(l1), ODD)),
    ];
    if (!grad) {
      code.push(
        set(l2, V128.load(base, 8)),
        set(l3, V128.load(base, 24)),
        set(E[rr][2], V128.shuffle(get(l2), get(l3), EVEN)),
        set(E[rr][3], V128.shuffle(get(l2), get(l3), ODD)),
      );
    }
    // across the columns: d B = [d0 - d2, d1 + d2, d2 - d1, d1 - d3]; g Aᵀ = [g0, g0 + g1, g0 - g1, -g1]
    const e = E[rr], u = U[rr];
    code.push(...(grad
      ? [set(u[0], get(e[0])), set(u[1], add(get(e[0]), get(e[1]))), set(u[2], sub(get(e[0]), get(e[1]))), set(u[3], sub(V128.zero(), get(e[1])))]
      : [set(u[0], sub(get(e[0]), get(e[2]))), set(u[1], add(get(e[1]), get(e[2]))), set(u[2], sub(get(e[2]), get(e[1]))), set(u[3], sub(get(e[1]), get(e[3])))]));
    return code;
  };
  // down the rows, column j: the same combination, stored as e = 4i + j
  const store = (i: number, j: number, v: Code): Code => V128.store(I32.add(get(out), I32.mul(k(4 * i + j), get(eBytes))), v);
  const combine: Code[] = [];
  for (let j = 0; j < 4; j++) {
    const u = (rr: number) => get(U[rr][j]);
    if (grad) {
      combine.push(store(0, j, u(0)), store(1, j, add(u(0), u(1))), store(2, j, sub(u(0), u(1))), store(3, j, sub(V128.zero(), u(1))));
    } else {
      combine.push(store(0, j, sub(u(0), u(2))), store(1, j, add(u(1), u(2))), store(2, j, sub(u(2), u(1))), store(3, j, sub(u(1), u(3))));
    }
  }

  f.body = [
    ...forRange(c, k(0), get(planes), k(1),
      ...copyPlane,
      forRange(ty, k(0), get(tilesH), k(1),
        forRange(tx, k(0), get(tilesW), k(4),
          set(row, at(pad, I32.add(I32.mul(I32.shl(get(ty), k(1)), get(PW)), I32.shl(get(tx), k(1))))),
          set(out, I32.add(I32.add(get(vAddr), I32.mul(get(c), get(rowBytes))), I32.shl(I32.add(I32.mul(get(ty), get(tilesW)), get(tx)), k(2)))),
          ...Array.from({ length: rowsIn }, (_, rr) => loadRow(rr)).flat(),
          ...combine,
        ),
      ),
    ),
  ];
  return f;
}

/**
 * wgOutput(m, rowBytes, eBytes, planes, tilesH, tilesW, y, outH, outW, bias, edge): y = Aᵀ m A
 * per tile (+ bias[plane] when bias is not 0), each [outH, outW] plane of y overwritten; m is
 * laid out as wgInput's V. `edge` is 64 bytes of scratch for tiles that overhang the plane.
 */
function outputFunc(): Func {
  const f = new Func('wgOutput', new Array(11).fill(i32));
  const [m, rowBytes, eBytes, planes, tilesH, tilesW, y, outH, outW, bias, edge] = f.params;
  const [o, ty, tx, src, dst, oy, ox, r, s, lim] = f.localsOf(i32, 10);
  const [bv, a0, a1, a2, a3, b0, b1, b2, b3, m0, m1, m2, m3] = f.localsOf(v128, 13);
  const [y00, y01, y10, y11] = f.localsOf(v128, 4);
  const k = I32.const;
  const ld = (e: number): Code => V128.load(I32.add(get(src), I32.mul(k(e), get(eBytes))));
  const cols: Code[] = [];
  // Aᵀ m over the rows: a = m0 + m1 + m2, b = m1 - m2 - m3, column by column
  const a = [a0, a1, a2, a3], b = [b0, b1, b2, b3];
  for (let j = 0; j < 4; j++) {
    cols.push(
      set(m0, ld(j)), set(m1, ld(4 + j)), set(m2, ld(8 + j)), set(m3, ld(12 + j)),
      set(a[j], add(add(get(m0), get(m1)), get(m2))),
      set(b[j], sub(sub(get(m1), get(m2)), get(m3))),
    );
  }
  // then across the columns: [v0 + v1 + v2, v1 - v2 - v3], plus the bias
  cols.push(
    set(y00, add(add(add(get(a0), get(a1)), get(a2)), get(bv))),
    set(y01, add(sub(sub(get(a1), get(a2)), get(a3)), get(bv))),
    set(y10, add(add(add(get(b0), get(b1)), get(b2)), get(bv))),
    set(y11, add(sub(sub(get(b1), get(b2)), get(b3)), get(bv))),
  );
  const rowAddr = (dy: number): Code => I32.add(get(dst), I32.mul(k(dy), I32.shl(get(outW), k(2))));
  const full: Code[] = [
    V128.store(rowAddr(0), V128.shuffle(get(y00), get(y01), LOW)),
    V128.store(rowAddr(0), V128.shuffle(get(y00), get(y01), HIGH), 16),
    V128.store(rowAddr(1), V128.shuffle(get(y10), get(y11), LOW)),
    V128.store(rowAddr(1), V128.shuffle(get(y10), get(y11), HIGH), 16),
  ];
  // the cells inside the plane, through the edge scratch: rows oy, oy+1, columns ox .. ox+7
  const partial: Code[] = [
    V128.store(get(edge), V128.shuffle(get(y00), get(y01), LOW)),
    V128.store(get(edge), V128.shuffle(get(y00), get(y01), HIGH), 16),
    V128.store(get(edge), V128.shuffle(get(y10), get(y11), LOW), 32),
    V128.store(get(edge), V128.shuffle(get(y10), get(y11), HIGH), 48),
    set(lim, I32.min(k(8), I32.sub(get(outW), get(ox)))),
    forRange(r, k(0), I32.min(k(2), I32.sub(get(outH), get(oy))), k(1),
      forRange(s, k(0), get(lim), k(1),
        F32.store(I32.add(rowAddr(0), I32.add(I32.mul(get(r), I32.shl(get(outW), k(2))), I32.shl(get(s), k(2)))),
          F32.load(I32.add(get(edge), I32.shl(I32.add(I32.shl(get(r), k(3)), get(s)), k(2))))),
      ),
    ),
  ];
  f.body = [
    ...forRange(o, k(0), get(planes), k(1),
      if_(get(bias), [set(bv, V128.load32Splat(I32.add(get(bias), I32.shl(get(o), k(2)))))], [set(bv, V128.zero())]),
      forRange(ty, k(0), get(tilesH), k(1),
        set(oy, I32.shl(get(ty), k(1))),
        forRange(tx, k(0), get(tilesW), k(4),
          set(ox, I32.shl(get(tx), k(1))),
          set(src, I32.add(I32.add(get(m), I32.mul(get(o), get(rowBytes))), I32.shl(I32.add(I32.mul(get(ty), get(tilesW)), get(tx)), k(2)))),
          set(dst, I32.add(get(y), I32.shl(I32.add(I32.mul(I32.add(I32.mul(get(o), get(outH)), get(oy)), get(outW)), get(ox)), k(2)))),
          ...cols,
          if_(I32.and(I32.leS(I32.add(get(ox), k(8)), get(outW)), I32.ltS(I32.add(get(oy), k(1)), get(outH))), full, partial),
        ),
      ),
    ),
  ];
  return f;
}

/** zeroCols(a, rows, rowBytes, from, to): zeros bytes [from, to) of every row (the slack past T). */
function zeroColsFunc(): Func {
  const f = new Func('zeroCols', [i32, i32, i32, i32, i32]);
  const [a, rows, rowBytes, from, to] = f.params;
  const [r, p] = f.localsOf(i32, 2);
  const k = I32.const;
  f.body = forRange(r, k(0), get(rows), k(1),
    forRange(p, I32.add(I32.add(get(a), I32.mul(get(r), get(rowBytes))), get(from)), I32.add(I32.add(get(a), I32.mul(get(r), get(rowBytes))), get(to)), k(4),
      I32.store(get(p), k(0))),
  );
  return f;
}

export function winogradFuncs(): Func[] {
  return [transformFunc('wgInput', false), transformFunc('wgGrad', true), outputFunc(), zeroColsFunc()];
}
