// Products with a mostly constant input for the kernel module (the idea is in ../sparse.ts): a
// 4×4-block transpose, and the sparse-rows and sparse-columns products against a transposed
// weight, 4 · LINE_VECTORS outputs at a time. Addresses in bytes, counts in elements.
import { F32, F32x4, Func, I32, I32x4, V128, elementAt as el, forRange, get, i32, set, v128, type Code } from './asm.ts';

// float lanes of two vectors (a: 0-3, b: 4-7) as the shuffle's byte indices
const lanes = (...l: number[]): number[] => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);
const k = I32.const;

const TILE = 16;

/**
 * transpose4(src, rows, cols, dst, accumulate, add): dst [cols, rows] gets src [rows, cols]
 * transposed, added to what dst holds when accumulate is 1, plus add[c] on dst's row c when add
 * is not 0. rows and cols are multiples of 4.
 */
function transpose4Func(): Func {
  const f = new Func('transpose4', [i32, i32, i32, i32, i32, i32]);
  const [src, rows, cols, dst, acc, add] = f.params;
  const [r, c, s, d, rb, cb, rEnd, cEnd] = f.localsOf(i32, 8);
  const [a, b, e, g, t0, t1, t2, t3, keep] = f.localsOf(v128, 9);
  const srcRow = (i: number): Code => I32.add(get(s), I32.shl(I32.mul(k(i), get(cols)), k(2)));
  const dstRow = (i: number): Code => I32.add(get(d), I32.shl(I32.mul(k(i), get(rows)), k(2)));
  // add[c + i], or 0 when add is 0: the memory's first bytes are zeros, never handed out
  const addOf = (i: number): Code => F32x4.splat(F32.load(I32.mul(I32.ne(get(add), k(0)), el(add, I32.add(get(c), k(i))))));
  const out = (i: number, v: Code): Code =>
    V128.store(dstRow(i), F32x4.add(F32x4.add(v, V128.and(V128.load(dstRow(i)), get(keep))), addOf(i)));
  f.body = [
    ...set(keep, I32x4.splat(I32.sub(k(0), get(acc)))), // all ones when accumulating
    // 16x16 tiles: a tile's source and destination rows are read and written as whole cache lines
    ...forRange(rb, k(0), get(rows), k(TILE), forRange(cb, k(0), get(cols), k(TILE),
      set(rEnd, I32.min(get(rows), I32.add(get(rb), k(TILE)))),
      set(cEnd, I32.min(get(cols), I32.add(get(cb), k(TILE)))),
      forRange(r, get(rb), get(rEnd), k(4),
      forRange(c, get(cb), get(cEnd), k(4),
        set(s, el(src, I32.add(I32.mul(get(r), get(cols)), get(c)))),
        set(d, el(dst, I32.add(I32.mul(get(c), get(rows)), get(r)))),
        set(a, V128.load(srcRow(0))),
        set(b, V128.load(srcRow(1))),
        set(e, V128.load(srcRow(2))),
        set(g, V128.load(srcRow(3))),
        set(t0, V128.shuffle(get(a), get(b), lanes(0, 4, 1, 5))),
        set(t1, V128.shuffle(get(a), get(b), lanes(2, 6, 3, 7))),
        set(t2, V128.shuffle(get(e), get(g), lanes(0, 4, 1, 5))),
        set(t3, V128.shuffle(get(e), get(g), lanes(2, 6, 3, 7))),
        out(0, V128.shuffle(get(t0), get(t2), lanes(0, 1, 4, 5))),
        out(1, V128.shuffle(get(t0), get(t2), lanes(2, 3, 6, 7))),
        out(2, V128.shuffle(get(t1), get(t3), lanes(0, 1, 4, 5))),
        out(3, V128.shuffle(get(t1), get(t3), lanes(2, 3, 6, 7))),
      ),
    ))),
  ];
  return f;
}

/** Accumulator vectors of the sparse products: outputs are taken 4 · LINE_VECTORS at a time. */
export const LINE_VECTORS = 4;

/**
 * sparseLines(ptr, at, val, lines, m, width, out, accumulate): for every compressed line q of S
 * (entries p from ptr[q] to ptr[q + 1]), out[q, :] = (out[q, :] if accumulate) + Σ val[p] · m[at[p], :],
 * 4 · LINE_VECTORS outputs at a time. With S in compressed rows (at = column) that is S · m for
 * m = Wᵀ [cols, width], the forward product; in compressed columns (at = row) it is Sᵀ · m for
 * m = dout [rows, width], the weight gradient as dWᵀ. width is a multiple of 4 · LINE_VECTORS.
 */
function sparseLinesFunc(): Func {
  const f = new Func('sparseLines', [i32, i32, i32, i32, i32, i32, i32, i32]);
  const [ptr, at, val, lines, m, width, out, accumulate] = f.params;
  const [ob, q, p, end, o, src] = f.localsOf(i32, 6);
  const acc = f.localsOf(v128, LINE_VECTORS);
  const [x, keep] = f.localsOf(v128, 2);
  const rowBytes = I32.shl(get(width), k(2));
  const each = (fn: (j: number) => Code): Code[] => acc.map((_, j) => fn(j));
  f.body = [
    ...set(keep, I32x4.splat(I32.sub(k(0), get(accumulate)))),
    ...forRange(ob, k(0), get(width), k(4 * LINE_VECTORS),
      forRange(q, k(0), get(lines), k(1),
        set(o, I32.add(get(out), I32.add(I32.mul(get(q), rowBytes), I32.shl(get(ob), k(2))))),
        ...each((j) => set(acc[j], V128.and(V128.load(get(o), 16 * j), get(keep)))),
        set(end, I32.load(el(ptr, I32.add(get(q), k(1))))),
        forRange(p, I32.load(el(ptr, get(q))), get(end), k(1),
          set(x, V128.load32Splat(el(val, get(p)))),
          set(src, I32.add(get(m), I32.add(I32.mul(I32.load(el(at, get(p))), rowBytes), I32.shl(get(ob), k(2))))),
          ...each((j) => set(acc[j], F32x4.add(get(acc[j]), F32x4.mul(get(x), V128.load(get(src), 16 * j))))),
        ),
        ...each((j) => V128.store(get(o), get(acc[j]), 16 * j)),
      ),
    ),
  ];
  return f;
}

/** The functions of this file, for the kernel module. */
export function sparseFuncs(): Func[] {
  return [transpose4Func(), sparseLinesFunc()];
}
