// What the main thread and the workers of ParallelStepper share: the layout of the shared memory
// and control block, how a batch is cut into per-thread slices, and parameter binding.
import { MnistError } from '../engine/errors.ts';
import type { Backend } from '../engine/backend.ts';
import { shapeSize } from '../engine/tensor.ts';
import type { CrossEntropyOptions } from '../nn/loss.ts';
import type { LayerSpec, Module, Parameter } from '../nn/module.ts';
import type { ReduceBuffers } from './collective.ts';
import { KERNEL_CALL_FNS, runKernelCall, type KernelCall } from '../engine/wasm/elementwise.ts';
import { wasmRuntime } from '../engine/wasm/runtime.ts';

/** A worker thread failed, died or stopped answering; the pool cannot be used after this. */
export class WorkerError extends MnistError {}

// Control block: one 64-byte line of int32 per thread (index 0 unused: the main thread).
export const CTL_STRIDE = 16;
export const CTL = { seq: 0, cmd: 1, start: 2, count: 3, batch: 4, done: 5, error: 6, errorLength: 7, training: 8, maskSeed: 9 } as const;
export const CMD = { step: 1, infer: 2, exit: 3, update: 4 } as const;
/** Float64 results per thread: [mean loss of its slice, correct count]. */
export const RESULT_STRIDE = 8;
/** Bytes of UTF-8 error message per thread. */
export const ERROR_BYTES = 4096;

/** The shared memory every thread maps; sizes in elements. */
export interface SharedBuffers {
  params: SharedArrayBuffer; // Float32 [paramCount]
  grads: SharedArrayBuffer; // Float32 [threads, paramCount]; region 0 is the main thread's (the master grads)
  x: SharedArrayBuffer; // Float32 [maxBatch, ...sampleShape]
  y: SharedArrayBuffer; // Int32 [maxBatch]
  out: SharedArrayBuffer; // Float32 [maxBatch, classes] logits of an inference pass
  ctl: SharedArrayBuffer; // Int32 [threads, CTL_STRIDE]
  results: SharedArrayBuffer; // Float64 [threads, RESULT_STRIDE]
  errors: SharedArrayBuffer; // Uint8 [threads, ERROR_BYTES]
  stats: SharedArrayBuffer; // Float32 [bufferCount]: running statistics, updated by the main thread only
  reduce: ReduceBuffers; // batch-norm sums across the threads
  plan: SharedArrayBuffer; // Float64 [planFloats(parameters)]: the optimizer step the threads split (wasm kernels)
}

/** What a worker is started with (structured-cloned; the buffers are shared, not copied). */
export interface WorkerInit {
  index: number;
  specs: LayerSpec[];
  sampleShape: number[];
  classes: number;
  maxBatch: number;
  /** Rows per inference chunk (see inferenceChunk). */
  chunkRows: number;
  seed: number;
  /** The main thread's kernels (engine/backend.ts); every worker runs the same. */
  backend: Backend;
  loss: CrossEntropyOptions;
  buffers: SharedBuffers;
  /** Set when the parameters, gradients and batch live in the main thread's kernel memory. */
  kernel?: KernelBlocks;
  /** How long to wait for the other threads' batch statistics. */
  timeoutMs: number;
}

/** The first row of thread t's slice of a batch of `batch` rows. */
export function sliceStart(batch: number, threads: number, t: number): number {
  return Math.floor((t * batch) / threads);
}

/** Rows [start, end) of a batch of `batch` rows that thread t of `threads` computes. */
export function sliceRows(batch: number, threads: number, t: number): [number, number] {
  return [sliceStart(batch, threads, t), sliceStart(batch, threads, t + 1)];
}

/**
 * Where the parameters, the gradients and the batch live when the wasm kernels run: blocks of the
 * main thread's kernel memory, which every worker adopts, so each thread's kernels read and write
 * them in place (byte addresses; the matching SharedBuffers fields are then unused).
 */
export interface KernelBlocks {
  memory: WebAssembly.Memory;
  /** Each parameter's value. */
  values: number[];
  /** [thread][parameter]: each thread's gradient of each parameter; thread 0's are the master grads. */
  grads: number[][];
  /** The batch, [maxBatch, ...sampleShape]. */
  x: number;
}

// ---- the optimizer step, split across the threads (wasm kernels with everything in the kernel memory) ----
// The main thread asks the optimizer for its step as kernel calls (optim/optimizer.ts kernelStep),
// writes them into the plan, and every thread then takes a range of the parameters' elements:
// it sums the active threads' gradients there (in thread order) and runs the calls on it. Every
// element's arithmetic is the same whichever thread does it, so runs stay bit-identical.

// doubles per call: fn, n, 4 addresses, 9 scalars
const CALL_FLOATS = 15;

/** Float64s the plan of a model with `params` parameters takes. */
export function planFloats(params: number): number {
  return 2 + params * CALL_FLOATS;
}

/** Writes the calls, and which threads' gradients to sum (bit t for thread t), into the plan. */
export function writePlan(plan: Float64Array, calls: readonly KernelCall[], activeMask: number): void {
  plan[0] = calls.length;
  plan[1] = activeMask;
  calls.forEach((c, i) => {
    const o = 2 + i * CALL_FLOATS;
    plan.fill(0, o, o + CALL_FLOATS);
    plan[o] = KERNEL_CALL_FNS.indexOf(c.fn);
    plan[o + 1] = c.n;
    c.ptrs.forEach((p, j) => (plan[o + 2 + j] = p));
    c.scalars.forEach((x, j) => (plan[o + 6 + j] = x));
  });
}

// decoded calls, reused from step to step (a step allocates nothing here)
const decoded: KernelCall[] = [];

function readCall(plan: Float64Array, i: number): KernelCall {
  const o = 2 + i * CALL_FLOATS;
  const c = (decoded[i] ??= { fn: 'adam', n: 0, ptrs: [0, 0, 0, 0], scalars: [0, 0, 0, 0, 0, 0, 0, 0, 0] });
  c.fn = KERNEL_CALL_FNS[plan[o]];
  c.n = plan[o + 1];
  for (let j = 0; j < 4; j++) c.ptrs[j] = plan[o + 2 + j];
  for (let j = 0; j < 9; j++) c.scalars[j] = plan[o + 6 + j];
  return c;
}

/**
 * Thread t's share of the plan: over elements [from, to) of the parameters laid end to end (cut
 * at multiples of 4, so the kernels' vector lanes stay whole), it adds the other active threads'
 * gradients into thread 0's (`grads`: [thread][parameter] byte addresses) and runs the calls.
 */
export function runPlanShare(plan: Float64Array, grads: readonly (readonly number[])[], t: number, threads: number): void {
  const count = plan[0], mask = plan[1];
  let total = 0;
  for (let i = 0; i < count; i++) total += plan[3 + i * CALL_FLOATS];
  const from = planCut(t, threads, total), to = planCut(t + 1, threads, total);
  const k = wasmRuntime().k;
  for (let i = 0, off = 0; i < count; i++) {
    const n = plan[3 + i * CALL_FLOATS];
    const a = Math.max(from, off) - off, b = Math.min(to, off + n) - off;
    off += n;
    if (a >= b) continue;
    for (let u = 1; u < grads.length; u++) if (mask & (1 << u)) k.addInto(grads[0][i] + 4 * a, grads[u][i] + 4 * a, b - a);
    runKernelCall(readCall(plan, i), a, b);
  }
}

function planCut(u: number, threads: number, total: number): number {
  return u === threads ? total : Math.floor((u * total) / threads / 4) * 4;
}

/** Views of the parameters, of every thread's gradients and of the batch. */
export interface ParameterViews {
  values: Float32Array[];
  grads: Float32Array[][];
  x: Float32Array;
}

/** The views over the shared buffers: parameters one after another, each thread's gradients likewise. */
export function sharedBufferViews(params: readonly Parameter[], buffers: SharedBuffers, threads: number): ParameterViews {
  const all = new Float32Array(buffers.params), g = new Float32Array(buffers.grads);
  const P = all.length;
  const values: Float32Array[] = [];
  const grads: Float32Array[][] = Array.from({ length: threads }, () => []);
  let off = 0;
  for (const p of params) {
    const n = p.value.size;
    values.push(all.subarray(off, off + n));
    for (let t = 0; t < threads; t++) grads[t].push(g.subarray(t * P + off, t * P + off + n));
    off += n;
  }
  return { values, grads, x: new Float32Array(buffers.x) };
}

/**
 * Points each parameter's value and grad at the given views (one per parameter), copying the
 * current values in when `copy` is set.
 */
export function bindParameters(params: readonly Parameter[], values: readonly Float32Array[], grads: readonly Float32Array[], copy: boolean): void {
  params.forEach((p, i) => {
    if (copy) {
      values[i].set(p.value.data);
      grads[i].set(p.grad.data);
    }
    // NOTE: the tensors are rebound in place (not replaced) because layers and the optimizer hold
    // the Parameter objects; every reader goes through `.data`, so the views take effect at once.
    (p.value as { data: Float32Array }).data = values[i];
    (p.grad as { data: Float32Array }).data = grads[i];
  });
}

/** Activation floats a thread may hold during inference; a slice with more runs in chunks. */
export const ACTIVATION_BUDGET = 2 ** 21;

/**
 * Rows per inference chunk for a slice of n rows, at most maxRows: n itself if it fits, else the
 * largest divisor of n in [maxRows/4, maxRows], so every chunk has one shape (layer buffers are
 * sized per shape), else maxRows. Chunks bound memory: a whole 1000-image CNN batch holds
 * ~100 MB of activations per thread, the MLP's fit at once (chunking it would only repack its
 * weights per chunk).
 */
export function inferenceChunk(n: number, maxRows: number): number {
  if (n <= maxRows) return n;
  for (let c = maxRows; c >= Math.max(1, maxRows >> 2); c--) if (n % c === 0) return c;
  return maxRows;
}

/** Floats of layer outputs one sample makes (the sum over a Sequential's layers). */
export function activationFloats(model: Module, sampleShape: readonly number[]): number {
  const layers = (model as { layers?: Module[] }).layers;
  let shape = [1, ...sampleShape];
  if (!layers) return 4 * shapeSize(model.outputShape(shape));
  let total = 0;
  for (const l of layers) {
    shape = l.outputShape(shape);
    total += shapeSize(shape);
  }
  return total;
}

/**
 * Points the model's buffers (running statistics) at consecutive views of `stats`, copying the
 * current values in when `copy` is set: every replica then reads the main thread's statistics.
 */
export function bindBuffers(model: Module, stats: SharedArrayBuffer, copy: boolean): void {
  const all = new Float32Array(stats);
  let off = 0;
  for (const b of model.buffers()) {
    const v = all.subarray(off, off + b.value.size);
    if (copy) v.set(b.value.data);
    (b.value as { data: Float32Array }).data = v;
    off += b.value.size;
  }
}
