// Max pooling for the kernel module: 2×2 windows at stride 2 inside the input, four windows at a
// time, with PyTorch's rule (a strictly greater value or a NaN takes over, in row-major window
// order) and the flat argmax index of each; and the backward scatter for any geometry.
// Addresses in bytes, counts in elements.
import { F32, F32x4, Func, I32, I32x4, V128, forRange, get, i32, if_, set, v128, type Code } from './asm.ts';

// the even and the odd float lanes of two vectors (a's four floats, then b's)
export const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
export const ODD = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];

/**
 * maxPool2x2(x, y, argmax, planes, H, W, outH, outW), x: [planes, H, W] -> y, argmax: [planes,
 * outH, outW], 2×2 windows at stride 2 with 2·outH <= H, 2·outW <= W and outW >= 4. A row's last
 * four windows are taken from outW − 4, so a row whose width is not a multiple of four rewrites
 * a few outputs with the same values instead of needing a scalar tail.
 */
function maxPool2x2Func(): Func {
  const f = new Func('maxPool2x2', [i32, i32, i32, i32, i32, i32, i32, i32]);
  const [x, y, am, planes, H, W, outH, outW] = f.params;
  const [p, oy, ox, o, row, base, q, last] = f.localsOf(i32, 8);
  const [a, b, m, idx, c, v, offW, offW1] = f.localsOf(v128, 8);
  const k = I32.const;
  // the window's next tap v, at flat offset `off` from its corner, takes over where it is greater or NaN
  const take = (off: typeof offW | null, one: boolean): Code => [
    ...set(c, V128.or(F32x4.gt(get(v), get(m)), F32x4.ne(get(v), get(v)))),
    ...set(m, V128.bitselect(get(v), get(m), get(c))),
    ...set(idx, V128.bitselect(one ? I32x4.splat(k(1)) : get(off!), get(idx), get(c))),
  ];
  // four windows whose corners are at row `row` (flat index of x), columns 2·ox .. 2·ox + 6
  const four: Code = [
    ...set(q, I32.add(get(row), I32.shl(get(ox), k(1)))), // flat index of the first corner
    ...set(a, V128.load(I32.add(get(x), I32.shl(get(q), k(2))))),
    ...set(b, V128.load(I32.add(get(x), I32.shl(get(q), k(2))), 16)),
    ...set(m, V128.shuffle(get(a), get(b), EVEN)),
    ...set(idx, V128.zero()),
    ...set(v, V128.shuffle(get(a), get(b), ODD)),
    ...take(null, true),
    ...set(a, V128.load(I32.add(get(x), I32.shl(I32.add(get(q), get(W)), k(2))))),
    ...set(b, V128.load(I32.add(get(x), I32.shl(I32.add(get(q), get(W)), k(2))), 16)),
    ...set(v, V128.shuffle(get(a), get(b), EVEN)),
    ...take(offW, false),
    ...set(v, V128.shuffle(get(a), get(b), ODD)),
    ...take(offW1, false),
    ...V128.store(I32.add(get(y), I32.shl(I32.add(get(o), get(ox)), k(2))), get(m)),
    ...V128.store(I32.add(get(am), I32.shl(I32.add(get(o), get(ox)), k(2))),
      I32x4.add(get(idx), I32x4.add(I32x4.splat(get(q)), V128.i32x4([0, 2, 4, 6])))),
  ];
  f.body = [
    ...set(offW, I32x4.splat(get(W))),
    ...set(offW1, I32x4.splat(I32.add(get(W), k(1)))),
    ...set(last, I32.sub(get(outW), k(4))),
    ...forRange(p, k(0), get(planes), k(1),
      set(base, I32.mul(get(p), I32.mul(get(H), get(W)))),
      forRange(oy, k(0), get(outH), k(1),
        set(row, I32.add(get(base), I32.mul(I32.shl(get(oy), k(1)), get(W)))),
        set(o, I32.mul(I32.add(I32.mul(get(p), get(outH)), get(oy)), get(outW))),
        forRange(ox, k(0), get(last), k(4), four),
        // the row's last four windows (again in part, when outW is not a multiple of four)
        set(ox, get(last)),
        four,
      ),
    ),
  ];
  return f;
}

/** maxPoolBackward(dy, argmax, dx, n, inSize): dx = 0, then dx[argmax[q]] += dy[q] for q < n (argmax < 0: no input cell). */
function maxPoolBackwardFunc(): Func {
  const f = new Func('maxPoolBackward', [i32, i32, i32, i32, i32]);
  const [dy, am, dx, n, inSize] = f.params;
  const [i, j, to] = f.localsOf(i32, 3);
  const k = I32.const;
  f.body = [
    ...set(to, I32.and(get(inSize), k(~3))),
    ...forRange(i, k(0), get(to), k(4), V128.store(I32.add(get(dx), I32.shl(get(i), k(2))), V128.zero())),
    ...forRange(i, get(to), get(inSize), k(1), F32.store(I32.add(get(dx), I32.shl(get(i), k(2))), F32.const(0))),
    ...forRange(i, k(0), get(n), k(1),
      set(j, I32.load(I32.add(get(am), I32.shl(get(i), k(2))))),
      if_(I32.geS(get(j), k(0)), [
        F32.store(I32.add(get(dx), I32.shl(get(j), k(2))),
          F32.add(F32.load(I32.add(get(dx), I32.shl(get(j), k(2)))), F32.load(I32.add(get(dy), I32.shl(get(i), k(2)))))),
      ]),
    ),
  ];
  return f;
}

export function poolFuncs(): Func[] {
  return [maxPool2x2Func(), maxPoolBackwardFunc()];
}
