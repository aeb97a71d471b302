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

/**
 * One element-wise update as a wasm kernel call over n floats: the byte addresses of its arrays
 * (parameter, gradient, then the optimizer's buffers; 0 for an absent one) and its float32
 * scalars. Every element is updated on its own, so any range of a call can run by itself: the
 * worker threads split one step's calls between them (train/parallel.ts).
 */
export interface KernelCall {
  fn: 'adam' | 'sgd';
  ptrs: number[];
  n: number;
  scalars: number[];
}
export const KERNEL_CALL_FNS = ['adam', 'sgd'] as const;

/** Runs elements [from, to) of a call. */
export function runKernelCall(c: KernelCall, from: number, to: number): void {
  const k = wasmRuntime().k, p = c.ptrs, s = c.scalars, off = from * 4, n = to - from;
  const at = (i: number) => (p[i] ? p[i] + off : 0);
  if (c.fn === 'adam') k.adam(at(0), at(1), at(2), at(3), n, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]);
  else k.sgd(at(0), at(1), at(2), n, s[0], s[1], s[2], s[3], s[4], s[5]);
}

const adamArgs = (ptrs: number[], n: number, s: AdamScalars): KernelCall => ({
  fn: 'adam', ptrs, n, scalars: [s.decay, s.l2, s.b1, 1 - s.b1, s.b2, 1 - s.b2, s.stepSize, s.invBc2sqrt, s.eps],
});

/** The call for an Adam / AdamW update of w, or null unless every array lives in the kernel memory. */
export function adamCall(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): KernelCall | null {
  const rt = wasmRuntime();
  if (!rt.holds(w) || !rt.holds(g) || !rt.holds(m) || !rt.holds(v)) return null;
  return adamArgs([w.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset], w.length, s);
}

/** One Adam / AdamW update of w with gradient g and moments m, v (all of one length), in float32. */
export function wasmAdam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  const call = adamCall(w, g, m, v, s);
  if (call) return runKernelCall(call, 0, call.n);
  const rt = wasmRuntime();
  const n = w.length;
  rt.begin(rt.stageBytes(w, n) + rt.stageBytes(g, n) + rt.stageBytes(m, n) + rt.stageBytes(v, n));
  const pw = rt.place(w, 0, n), pg = rt.place(g, 0, n), pm = rt.place(m, 0, n), pv = rt.place(v, 0, n);
  runKernelCall(adamArgs([pw, pg, pm, pv], n, s), 0, n);
  rt.copyBack(w, pw, n);
  rt.copyBack(m, pm, n);
  rt.copyBack(v, pv, n);
}

/** Float32 scalars of one SGD step (see elementwise-kernel.ts sgd); buf is null without momentum. */
export interface SgdScalars {
  lr: number; wd: number; keep: number; c: number; mu: number; nesterov: boolean;
}

const sgdArgs = (ptrs: number[], n: number, s: SgdScalars, momentum: boolean): KernelCall => ({
  fn: 'sgd', ptrs, n, scalars: [s.lr, s.wd, s.keep, s.c, s.mu, momentum ? (s.nesterov ? 2 : 1) : 0],
});

/** The call for an SGD update of w (buf null: no momentum), or null unless every array lives in the kernel memory. */
export function sgdCall(w: Float32Array, g: Float32Array, buf: Float32Array | null, s: SgdScalars): KernelCall | null {
  const rt = wasmRuntime();
  if (!rt.holds(w) || !rt.holds(g) || (buf && !rt.holds(buf))) return null;
  return sgdArgs([w.byteOffset, g.byteOffset, buf ? buf.byteOffset : 0], w.length, s, buf !== null);
}

/** One SGD update of w with gradient g and momentum buffer buf (null: no momentum), in float32. */
export function wasmSgd(w: Float32Array, g: Float32Array, buf: Float32Array | null, s: SgdScalars): void {
  const call = sgdCall(w, g, buf, s);
  if (call) return runKernelCall(call, 0, call.n);
  const rt = wasmRuntime();
  const n = w.length;
  rt.begin(rt.stageBytes(w, n) + rt.stageBytes(g, n) + (buf ? rt.stageBytes(buf, n) : 0));
  const pw = rt.place(w, 0, n), pg = rt.place(g, 0, n), pb = buf ? rt.place(buf, 0, n) : 0;
  runKernelCall(sgdArgs([pw, pg, pb], n, s, buf !== null), 0, n);
  rt.copyBack(w, pw, n);
  if (buf) rt.copyBack(buf, pb, n);
}
