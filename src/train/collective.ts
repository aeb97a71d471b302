// Whole-batch sums across the threads of a ParallelStepper, for batch normalisation (as
// SyncBatchNorm): each thread posts its partial sums, waits at a barrier, and adds every thread's
// part in thread order, so all threads hold the same bits, whatever their timing.
import type { AllReduce } from '../nn/batchnorm.ts';
import { BatchNorm } from '../nn/batchnorm.ts';
import type { Module } from '../nn/module.ts';

/** Shared memory of a reduction: two slots (calls alternate) of one row per thread, and the barrier. */
export interface ReduceBuffers {
  data: SharedArrayBuffer; // Float64 [2, threads, width]
  sync: SharedArrayBuffer; // Int32 [arrived, generation]
  threads: number;
  width: number;
}

/** The batch-normalisation layers of a model (a Sequential's layers, or the module itself). */
export function batchNorms(model: Module): BatchNorm[] {
  const layers = (model as { layers?: Module[] }).layers ?? [model];
  return layers.filter((l): l is BatchNorm => l instanceof BatchNorm);
}

/** Floats one reduction posts at most: a layer's backward sends 2 per feature and a count. */
export function reduceWidth(model: Module): number {
  return batchNorms(model).reduce((w, l) => Math.max(w, 2 * l.numFeatures + 1), 0);
}

export function reduceBuffers(threads: number, width: number): ReduceBuffers {
  return { data: new SharedArrayBuffer(Math.max(8, 8 * 2 * threads * width)), sync: new SharedArrayBuffer(8), threads, width };
}

/** One thread's end of the reduction; `begin(rows)` before each step names the threads that have rows. */
export class SharedAllReduce implements AllReduce {
  private readonly data: Float64Array;
  private readonly sync: Int32Array;
  private calls = 0;
  private active: number[] = [];

  constructor(
    private readonly index: number,
    private readonly b: ReduceBuffers,
    private readonly timeoutMs: number,
    /** Called while waiting too long: throws when a peer has failed (the main thread's check). */
    private readonly stillAlive: () => void = () => {},
  ) {
    this.data = new Float64Array(b.data);
    this.sync = new Int32Array(b.sync);
  }

  /** The threads taking part in this step: those whose slice of the batch has rows. */
  begin(rowsOf: (t: number) => number): void {
    this.active = [];
    for (let t = 0; t < this.b.threads; t++) if (rowsOf(t) > 0) this.active.push(t);
  }

  // buf[0..n) <- Σ over the active threads (in thread order) of their buf[0..n)
  sum(buf: Float64Array, n: number): void {
    if (this.active.length <= 1) return;
    if (n > this.b.width) throw new RangeError(`SharedAllReduce: ${n} values, room for ${this.b.width}`);
    // two slots: a thread posting call k + 1 cannot overwrite call k's slot while a slower one reads it
    const slot = this.calls++ & 1;
    const { threads, width } = this.b;
    this.data.set(buf.subarray(0, n), (slot * threads + this.index) * width);
    this.barrier(this.active.length);
    buf.fill(0, 0, n);
    for (const t of this.active) {
      const o = (slot * threads + t) * width;
      for (let i = 0; i < n; i++) buf[i] += this.data[o + i];
    }
  }

  private barrier(parties: number): void {
    const sync = this.sync;
    const gen = Atomics.load(sync, 1);
    if (Atomics.add(sync, 0, 1) === parties - 1) {
      Atomics.store(sync, 0, 0);
      Atomics.add(sync, 1, 1);
      Atomics.notify(sync, 1);
      return;
    }
    const deadline = performance.now() + this.timeoutMs;
    while (Atomics.load(sync, 1) === gen) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`batch statistics: thread ${this.index} waited ${this.timeoutMs} ms for the other threads`);
      Atomics.wait(sync, 1, gen, Math.min(left, 1000));
      this.stillAlive();
    }
  }
}

/** Points the model's batch-norm layers at the reduction; replicas leave the running statistics to the main thread. */
export function attachAllReduce(model: Module, reduce: SharedAllReduce, updatesRunningStats: boolean): void {
  for (const l of batchNorms(model)) {
    l.collective = reduce;
    l.updatesRunningStats = updatesRunningStats;
  }
}
