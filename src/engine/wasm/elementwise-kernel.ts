// Element-wise kernels for the kernel module: ReLU forward/backward, the Adam and SGD updates and a sum, four
// lanes at a time with a scalar tail that does the same float32 arithmetic lane by lane.
// Addresses in bytes, counts in floats.
import { F32, F32x4, Func, I32, I32x4, V128, f32, forRange, get, i32, if_, set, sumLanes, v128, type Code, type Local } from './asm.ts';

/** The arithmetic of one lane or of four, so one expression yields both loops. */
interface Lanes {
  width: number;
  type: number;
  load: (addr: Code) => Code;
  store: (addr: Code, v: Code) => Code;
  add: (a: Code, b: Code) => Code;
  sub: (a: Code, b: Code) => Code;
  mul: (a: Code, b: Code) => Code;
  div: (a: Code, b: Code) => Code;
  sqrt: (a: Code) => Code;
  /** A scalar f32 local as this width. */
  of: (l: Local) => Code;
}

const scalar: Lanes = {
  width: 1, type: f32,
  load: (a) => F32.load(a), store: (a, v) => F32.store(a, v),
  add: F32.add, sub: F32.sub, mul: F32.mul, div: F32.div, sqrt: F32.sqrt,
  of: (l) => get(l),
};
const vector: Lanes = {
  width: 4, type: v128,
  load: (a) => V128.load(a), store: (a, v) => V128.store(a, v),
  add: F32x4.add, sub: F32x4.sub, mul: F32x4.mul, div: F32x4.div, sqrt: F32x4.sqrt,
  of: (l) => F32x4.splat(get(l)),
};

/**
 * for (i = 0; i < n; i += 4) body(vector lanes, byte offset), then i < n one at a time with the
 * scalar lanes: `body` builds the code for one step at byte offset `at` (a local).
 */
function lanesLoop(f: Func, n: Local, body: (L: Lanes, at: Local) => Code[]): Code {
  const [i, at, n4] = f.localsOf(i32, 3);
  const c = I32.const;
  return [
    ...set(n4, I32.and(get(n), c(~3))),
    ...forRange(i, c(0), get(n4), c(4), set(at, I32.shl(get(i), c(2))), ...body(vector, at)),
    ...forRange(i, get(n4), get(n), c(1), set(at, I32.shl(get(i), c(2))), ...body(scalar, at)),
  ];
}

const at = (base: Local, off: Local) => I32.add(get(base), get(off));

/** relu(x, y, n): y = x with every value whose sign bit is set (negatives, -0, -inf) zeroed; NaN stays. */
function reluFunc(): Func {
  const f = new Func('relu', [i32, i32, i32]);
  const [x, y, n] = f.params;
  const [i, n4, s] = f.localsOf(i32, 3);
  const v = f.local(v128);
  const c = I32.const;
  f.body = [
    ...set(n4, I32.and(get(n), c(~3))),
    ...forRange(i, c(0), get(n4), c(4),
      set(v, V128.load(I32.add(get(x), I32.shl(get(i), c(2))))),
      V128.store(I32.add(get(y), I32.shl(get(i), c(2))), V128.andnot(get(v), I32x4.shrS(get(v), c(31)))),
    ),
    ...forRange(i, get(n4), get(n), c(1),
      set(s, I32.load(I32.add(get(x), I32.shl(get(i), c(2))))),
      I32.store(I32.add(get(y), I32.shl(get(i), c(2))), I32.and(get(s), I32.sub(c(-1), I32.shrS(get(s), c(31))))),
    ),
  ];
  return f;
}

/** reluBackward(y, dy, dx, n): dx = dy where y > 0 (y's bits > 0), else 0. */
function reluBackwardFunc(): Func {
  const f = new Func('reluBackward', [i32, i32, i32, i32]);
  const [y, dy, dx, n] = f.params;
  const [i, n4, q] = f.localsOf(i32, 3);
  const c = I32.const;
  f.body = [
    ...set(n4, I32.and(get(n), c(~3))),
    ...forRange(i, c(0), get(n4), c(4),
      set(q, I32.shl(get(i), c(2))),
      V128.store(I32.add(get(dx), get(q)),
        V128.and(V128.load(I32.add(get(dy), get(q))), I32x4.gtS(V128.load(I32.add(get(y), get(q))), V128.zero()))),
    ),
    ...forRange(i, get(n4), get(n), c(1),
      set(q, I32.shl(get(i), c(2))),
      I32.store(I32.add(get(dx), get(q)),
        I32.and(I32.load(I32.add(get(dy), get(q))), I32.shrS(I32.sub(c(0), I32.load(I32.add(get(y), get(q)))), c(31)))),
    ),
  ];
  return f;
}

/**
 * adam(w, g, m, v, n, decay, l2, b1, c1, b2, c2, stepSize, invBc2sqrt, eps), all float32:
 *   w *= decay (AdamW's decoupled decay; 1 for Adam), g' = g + l2*w (Adam's L2; 0 for AdamW),
 *   m = b1*m + c1*g', v = b2*v + c2*g'*g', w -= stepSize*m / (sqrt(v)*invBc2sqrt + eps),
 * with c1 = 1 - b1 and c2 = 1 - b2 rounded from double (as PyTorch passes them), not f32(1) - f32(b).
 */
function adamFunc(): Func {
  const f = new Func('adam', [i32, i32, i32, i32, i32, f32, f32, f32, f32, f32, f32, f32, f32, f32]);
  const [w, g, m, v, n, decay, l2, b1, c1, b2, c2, stepSize, invBc2sqrt, eps] = f.params;
  const body = (L: Lanes, off: Local): Code[] => {
    const [wv, gv, mv, vv] = f.localsOf(L.type, 4);
    return [
      set(wv, L.mul(L.load(at(w, off)), L.of(decay))),
      set(gv, L.add(L.load(at(g, off)), L.mul(L.of(l2), get(wv)))),
      set(mv, L.add(L.mul(L.of(b1), L.load(at(m, off))), L.mul(L.of(c1), get(gv)))),
      set(vv, L.add(L.mul(L.of(b2), L.load(at(v, off))), L.mul(L.mul(L.of(c2), get(gv)), get(gv)))),
      L.store(at(m, off), get(mv)),
      L.store(at(v, off), get(vv)),
      L.store(at(w, off), L.sub(get(wv), L.div(L.mul(L.of(stepSize), get(mv)), L.add(L.mul(L.sqrt(get(vv)), L.of(invBc2sqrt)), L.of(eps))))),
    ];
  };
  f.body = lanesLoop(f, n, body);
  return f;
}

/**
 * sgd(w, g, buf, n, lr, wd, keep, c, mu, mode), all float32: d = g + wd*w, then by mode
 *   0 (no momentum): w -= lr*d;
 *   1 (momentum):    buf = keep*buf + c*d, w -= lr*buf;
 *   2 (Nesterov):    buf = keep*buf + c*d, w -= lr*(d + mu*buf),
 * with keep = mu and c = 1 - dampening, except on the first step (PyTorch's buf = d): keep = 0,
 * c = 1 over a zeroed buf.
 */
function sgdFunc(): Func {
  const f = new Func('sgd', [i32, i32, i32, i32, f32, f32, f32, f32, f32, i32]);
  const [w, g, buf, n, lr, wd, keep, c, mu, mode] = f.params;
  const body = (momentum: boolean, nesterov: boolean) => (L: Lanes, off: Local): Code[] => {
    const [wv, dv, bv] = f.localsOf(L.type, 3);
    const update = !momentum ? get(dv) : nesterov ? L.add(get(dv), L.mul(L.of(mu), get(bv))) : get(bv);
    return [
      set(wv, L.load(at(w, off))),
      set(dv, L.add(L.load(at(g, off)), L.mul(L.of(wd), get(wv)))),
      ...(momentum ? [
        set(bv, L.add(L.mul(L.of(keep), L.load(at(buf, off))), L.mul(L.of(c), get(dv)))),
        L.store(at(buf, off), get(bv)),
      ] : []),
      L.store(at(w, off), L.sub(get(wv), L.mul(L.of(lr), update))),
    ];
  };
  f.body = if_(I32.eqz(get(mode)), [lanesLoop(f, n, body(false, false))], [
    if_(I32.eq(get(mode), I32.const(1)), [lanesLoop(f, n, body(true, false))], [lanesLoop(f, n, body(true, true))]),
  ]);
  return f;
}

/** addInto(dst, src, n): dst += src, the sum of the threads' gradients (float32, as the js loop rounds it). */
function addIntoFunc(): Func {
  const f = new Func('addInto', [i32, i32, i32]);
  const [dst, src, n] = f.params;
  f.body = lanesLoop(f, n, (L, off) => [L.store(at(dst, off), L.add(L.load(at(dst, off)), L.load(at(src, off))))]);
  return f;
}

/**
 * planeSums(a, n, C, L, out): out[c] += Σ over images and positions of a: [n, C, L] (a
 * convolution's bias gradient), each plane summed in four lanes, then across them.
 */
function planeSumsFunc(): Func {
  const f = new Func('planeSums', [i32, i32, i32, i32, i32]);
  const [a, n, C, L, out] = f.params;
  const [img, c, p, end, end4, dst] = f.localsOf(i32, 6);
  const acc = f.local(v128), tail = f.local(f32);
  const k = I32.const;
  f.body = [
    ...set(p, get(a)),
    ...forRange(img, k(0), get(n), k(1),
      forRange(c, k(0), get(C), k(1),
        set(end, I32.add(get(p), I32.shl(get(L), k(2)))),
        set(end4, I32.sub(get(end), k(12))),
        set(acc, V128.zero()),
        set(tail, F32.const(0)),
        forRange(p, get(p), get(end4), k(16), set(acc, F32x4.add(get(acc), V128.load(get(p))))),
        forRange(p, get(p), get(end), k(4), set(tail, F32.add(get(tail), F32.load(get(p))))),
        set(dst, I32.add(get(out), I32.shl(get(c), k(2)))),
        F32.store(get(dst), F32.add(F32.load(get(dst)), F32.add(sumLanes(get(acc)), get(tail)))),
      ),
    ),
  ];
  return f;
}

export function elementwiseFuncs(): Func[] {
  return [reluFunc(), reluBackwardFunc(), adamFunc(), sgdFunc(), addIntoFunc(), planeSumsFunc()];
}
