// What the main thread and the workers of ParallelStepper share: the layout of the shared memory
// and control block, how a batch is cut into per-thread slices, and parameter binding.
import { MnistError } from '../engine/errors.ts';
import type { Backend } from '../engine/backend.ts';
import { shapeSize } from '../engine/tensor.ts';
import type { CrossEntropyOptions } from '../nn/loss.ts';
import type { LayerSpec, Module, Parameter } from '../nn/module.ts';
import type { ReduceBuffers } from './collective.ts';

/** A worker thread failed, died or stopped answering; the pool cannot be used after this. */
export class WorkerError extends MnistError {}

// Control block: one 64-byte line of int32 per thread (index 0 unused: the main thread).
export const CTL_STRIDE = 16;
export const CTL = { seq: 0, cmd: 1, start: 2, count: 3, batch: 4, done: 5, error: 6, errorLength: 7, training: 8, maskSeed: 9 } as const;
export const CMD = { step: 1, infer: 2, exit: 3 } as const;
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
  paramCount: number;
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
