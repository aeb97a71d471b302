// Direct 3x3 stride-1 convolution of one input plane for the kernel module (a grayscale first
// layer, where im2col + GEMM has K = 9 and copies more than it multiplies): the plane is copied
// into a zero-bordered scratch plane, then each output vector is nine shifted loads times nine
// weights held in registers. (The weight gradient stays with the kept columns and dotRows: a
// direct version, nine accumulators per output channel, ran 1.5x slower.)
// Addresses in bytes, counts in elements.
import { F32x4, Func, I32, V128, elementAt as at, forRange, get, i32, if_, set, v128, type Code } from './asm.ts';
import { copyToPad } from './winograd-kernel.ts';

const k = I32.const;
const TAPS = 9;

/**
 * direct3x3(x, H, W, top, left, pad, PW, w, bias, O, y, outH, outW): y[o] = Σ_taps w[o, tap] ·
 * shifted x (+ bias[o] when bias is not 0) for o < O, each [outH, outW] plane of y overwritten;
 * w is [O, 9]. outW >= 4: a row's last vector is taken from outW - 4, rewriting a few outputs
 * with the same values rather than needing a scalar tail. `pad` holds (outH + 2) rows of PW >=
 * outW + 2 floats, zeroed by the caller.
 */
function forwardFunc(): Func {
  const f = new Func('direct3x3', new Array(13).fill(i32));
  const [x, H, W, top, left, pad, PW, w, bias, O, y, outH, outW] = f.params;
  const [o, oy, ox, row, out, last] = f.localsOf(i32, 6);
  const wv = f.localsOf(v128, TAPS);
  const [acc, bv] = f.localsOf(v128, 2);
  const tap = (t: number): Code => {
    const i = Math.floor(t / 3), j = t % 3;
    return set(acc, F32x4.add(get(acc), F32x4.mul(get(wv[t]), V128.load(I32.add(at(row, I32.add(I32.mul(k(i), get(PW)), get(ox))), k(4 * j))))));
  };
  const vector: Code[] = [set(acc, get(bv)), ...Array.from({ length: TAPS }, (_, t) => tap(t)), V128.store(at(out, get(ox)), get(acc))];
  f.body = [
    ...copyToPad(f, get(x), H, W, top, left, pad, PW).flat(),
    ...set(last, I32.sub(get(outW), k(4))),
    ...forRange(o, k(0), get(O), k(1),
      ...wv.map((v, t) => set(v, V128.load32Splat(at(w, I32.add(I32.mul(get(o), k(TAPS)), k(t)))))),
      if_(get(bias), [set(bv, V128.load32Splat(at(bias, get(o))))], [set(bv, V128.zero())]),
      forRange(oy, k(0), get(outH), k(1),
        set(row, at(pad, I32.mul(get(oy), get(PW)))),
        set(out, at(y, I32.mul(I32.add(I32.mul(get(o), get(outH)), get(oy)), get(outW)))),
        forRange(ox, k(0), get(last), k(4), ...vector),
        set(ox, get(last)),
        ...vector,
      ),
    ),
  ];
  return f;
}

export function directFuncs(): Func[] {
  return [forwardFunc()];
}
