// Element-wise entry points of the wasm backend: buffers that live in the kernel memory are used
// in place, others are copied in (and the written ones back out) around the call.
import { wasmRuntime } from './runtime.ts';

/** y = relu(x) (sign-bit rule: negatives and -0 become +0, NaN stays), or false if x or y lives outside the kernel memory. */
export function wasmRelu(x: Float32Array, y: Float32Array): boolean {
  const rt = wasmRuntime();
  if (!rt.holds(x) || !rt.holds(y)) return false;
  rt.k.relu(x.byteOffset, y.byteOffset, x.length);
  return true;
}

/** dx = dy where y > 0 else 0, or false if a buffer lives outside the kernel memory. */
export function wasmReluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): boolean {
  const rt = wasmRuntime();
  if (!rt.holds(y) || !rt.holds(dy) || !rt.holds(dx)) return false;
  rt.k.reluBackward(y.byteOffset, dy.byteOffset, dx.byteOffset, y.length);
  return true;
}

/** dst += src (float32), or false if either lives outside the kernel memory. */
export function wasmAddInto(dst: Float32Array, src: Float32Array): boolean {
  const rt = wasmRuntime();
  if (!rt.holds(dst) || !rt.holds(src)) return false;
  rt.k.addInto(dst.byteOffset, src.byteOffset, dst.length);
  return true;
}

/** Float32 scalars of one Adam step (see elementwise-kernel.ts adam). */
export interface AdamScalars {
  decay: number; l2: number; b1: number; b2: number; stepSize: number; invBc2sqrt: number; eps: number;
}

/** One Adam / AdamW update of w with gradient g and moments m, v (all of one length), in float32. */
export function wasmAdam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  const rt = wasmRuntime();
  const n = w.length;
  rt.begin(rt.stageBytes(w, n) + rt.stageBytes(g, n) + rt.stageBytes(m, n) + rt.stageBytes(v, n));
  const pw = rt.place(w, 0, n), pg = rt.place(g, 0, n), pm = rt.place(m, 0, n), pv = rt.place(v, 0, n);
  rt.k.adam(pw, pg, pm, pv, n, s.decay, s.l2, s.b1, 1 - s.b1, s.b2, 1 - s.b2, s.stepSize, s.invBc2sqrt, s.eps);
  copyBack(w, pw, n);
  copyBack(m, pm, n);
  copyBack(v, pv, n);
}

/** Float32 scalars of one SGD step (see elementwise-kernel.ts sgd); buf is null without momentum. */
export interface SgdScalars {
  lr: number; wd: number; keep: number; c: number; mu: number; nesterov: boolean;
}

/** One SGD update of w with gradient g and momentum buffer buf (null: no momentum), in float32. */
export function wasmSgd(w: Float32Array, g: Float32Array, buf: Float32Array | null, s: SgdScalars): void {
  const rt = wasmRuntime();
  const n = w.length;
  rt.begin(rt.stageBytes(w, n) + rt.stageBytes(g, n) + (buf ? rt.stageBytes(buf, n) : 0));
  const pw = rt.place(w, 0, n), pg = rt.place(g, 0, n), pb = buf ? rt.place(buf, 0, n) : 0;
  rt.k.sgd(pw, pg, pb, n, s.lr, s.wd, s.keep, s.c, s.mu, buf ? (s.nesterov ? 2 : 1) : 0);
  copyBack(w, pw, n);
  if (buf) copyBack(buf, pb, n);
}

function copyBack(a: Float32Array, addr: number, n: number): void {
  const rt = wasmRuntime();
  if (!rt.holds(a)) a.set(rt.f32.subarray(addr >> 2, (addr >> 2) + n));
}
