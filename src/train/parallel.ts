// Data-parallel training and inference on worker threads: every thread holds a replica of the
// model whose parameters alias one SharedArrayBuffer; a step splits the batch by rows, each thread
// writes its gradients into its own shared region, and the main thread sums the regions in a
// fixed order and runs the optimizer, so a seed and a thread count give bit-identical runs.
import { Worker } from 'node:worker_threads';
import { ConfigError, MnistError } from '../engine/errors.ts';
import { backend, type Backend } from '../engine/backend.ts';
import { Tensor, fmtShape, shapeSize } from '../engine/tensor.ts';
import { defaultRng } from '../nn/init.ts';
import { CrossEntropyLoss, argmaxRows, type CrossEntropyOptions } from '../nn/loss.ts';
import { Module, type LayerSpec, type Parameter } from '../nn/module.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Stepper } from './train.ts';

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
}

/** What a worker is started with (structured-cloned; the buffers are shared, not copied). */
export interface WorkerInit {
  index: number;
  threads: number;
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
}

export interface ParallelOptions {
  /** The specs the model was built from; each worker builds its replica from them. */
  specs: LayerSpec[];
  /** The master model (runs the main thread's share); its parameters move into shared memory. */
  model: Module;
  /** Steps the master model's parameters. */
  optimizer: Optimizer;
  /** Threads in all, the main thread included (>= 1). */
  threads: number;
  /** One sample's shape, e.g. [1, 28, 28]. */
  sampleShape: number[];
  /** The largest batch step() or forward() will be given (training batch, evaluation batch). */
  maxBatch: number;
  /** Seeds each worker's global RNG before its first step. */
  seed?: number;
  loss?: CrossEntropyOptions;
  /** How long to wait for a worker before declaring it hung (default 120 s). */
  timeoutMs?: number;
  /** Rows per inference chunk (default: as many as fit a 2M-float activation budget). */
  inferenceChunkRows?: number;
  /** Worker entry module (default: ./worker.mjs beside this file). */
  workerUrl?: URL;
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
 * Points each parameter's value (and grad) at consecutive views of `values` (and `grads` from
 * gradOffset), copying the current values in when `copy` is set.
 */
export function bindParameters(params: readonly Parameter[], values: Float32Array, grads: Float32Array, gradOffset: number, copy: boolean): void {
  let off = 0;
  for (const p of params) {
    const n = p.value.size;
    const v = values.subarray(off, off + n);
    const g = grads.subarray(gradOffset + off, gradOffset + off + n);
    if (copy) {
      v.set(p.value.data);
      g.set(p.grad.data);
    }
    // NOTE: the tensors are rebound in place (not replaced) because layers and the optimizer hold
    // the Parameter objects; every reader goes through `.data`, so the views take effect at once.
    (p.value as { data: Float32Array }).data = v;
    (p.grad as { data: Float32Array }).data = g;
    off += n;
  }
}

/** Activation floats a thread may hold during inference; a slice with more runs in chunks. */
const ACTIVATION_BUDGET = 2 ** 21;

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

/** Counts the rows whose argmax equals the label. */
export function countCorrect(logits: Tensor, y: ArrayLike<number>, pred: Int32Array<ArrayBuffer>): number {
  argmaxRows(logits, pred);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) correct++;
  return correct;
}

const decoder = new TextDecoder();

// Atomics.waitAsync is in Node 20 but not in the ES2022 lib typings.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeout?: number): WaitAsyncResult }).waitAsync;

/**
 * The multi-threaded Stepper: `threads - 1` workers plus the main thread. Create with
 * ParallelStepper.create (after loading any checkpoint into the model) and close() when done.
 */
export class ParallelStepper implements Stepper {
  readonly threads: number;
  /** A module that runs inference across the threads, for evaluate(). */
  readonly evaluator: Module;
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly results: Float64Array;
  private readonly errorBytes: Uint8Array;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  private readonly out: Float32Array;
  private readonly grads: Float32Array;
  private readonly paramCount: number;
  private readonly sampleSize: number;
  private readonly classes: number;
  private readonly lossFn: CrossEntropyLoss;
  private readonly timeoutMs: number;
  private readonly chunkRows: number;
  private readonly hasDropout: boolean;
  private seq = 0;
  private failure?: WorkerError;
  private closed = false;
  private pred = new Int32Array(0);
  // per batch size: the main thread's slice of x, y and the logits view
  private readonly views = new Map<number, { x: Tensor; y: Int32Array; out: Tensor }>();
  private readonly chunks = new Map<number, Tensor>();

  /** The master model (the main thread's replica). */
  get model(): Module {
    return this.o.model;
  }

  /** The largest batch the shared buffers hold. */
  get maxBatch(): number {
    return this.o.maxBatch;
  }

  private constructor(private readonly o: ParallelOptions, private readonly buffers: SharedBuffers) {
    this.threads = o.threads;
    this.ctl = new Int32Array(buffers.ctl);
    this.results = new Float64Array(buffers.results);
    this.errorBytes = new Uint8Array(buffers.errors);
    this.x = new Float32Array(buffers.x);
    this.y = new Int32Array(buffers.y);
    this.out = new Float32Array(buffers.out);
    this.grads = new Float32Array(buffers.grads);
    this.paramCount = new Float32Array(buffers.params).length;
    this.sampleSize = shapeSize(o.sampleShape);
    this.classes = this.out.length / o.maxBatch;
    this.lossFn = new CrossEntropyLoss(o.loss);
    this.timeoutMs = o.timeoutMs ?? 120_000;
    this.chunkRows = o.inferenceChunkRows ?? Math.max(1, Math.floor(ACTIVATION_BUDGET / activationFloats(o.model, o.sampleShape)));
    this.evaluator = new ParallelInference(this);
    this.hasDropout = o.specs.some((l) => l.type === 'Dropout');
  }

  /** Moves the model's parameters into shared memory and starts threads - 1 workers. */
  static async create(o: ParallelOptions): Promise<ParallelStepper> {
    if (!Number.isInteger(o.threads) || o.threads < 1) throw new ConfigError(`ParallelStepper: threads must be a positive integer, got ${o.threads}`);
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new ConfigError(`ParallelStepper: maxBatch must be a positive integer, got ${o.maxBatch}`);
    const outShape = o.model.outputShape([1, ...o.sampleShape]);
    if (outShape.length !== 2) throw new ConfigError(`ParallelStepper: the model must output [N, classes], but gives ${fmtShape(outShape)} for one sample`);
    const classes = outShape[1];
    const params = o.model.parameters();
    const paramCount = params.reduce((n, p) => n + p.value.size, 0);
    const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
    const buffers: SharedBuffers = {
      params: sab(4 * paramCount),
      grads: sab(4 * paramCount * o.threads),
      x: sab(4 * o.maxBatch * shapeSize(o.sampleShape)),
      y: sab(4 * o.maxBatch),
      out: sab(4 * o.maxBatch * classes),
      ctl: sab(4 * CTL_STRIDE * o.threads),
      results: sab(8 * RESULT_STRIDE * o.threads),
      errors: sab(ERROR_BYTES * o.threads),
    };
    bindParameters(params, new Float32Array(buffers.params), new Float32Array(buffers.grads), 0, true);
    o.model.inputGrad = false;
    const stepper = new ParallelStepper(o, buffers);
    try {
      await stepper.start(classes, paramCount);
    } catch (e) {
      await stepper.close();
      throw e;
    }
    return stepper;
  }

  private async start(classes: number, paramCount: number): Promise<void> {
    const url = this.o.workerUrl ?? new URL('./worker.mjs', import.meta.url);
    const ready: Promise<void>[] = [];
    for (let t = 1; t < this.threads; t++) {
      const init: WorkerInit = {
        index: t, threads: this.threads, specs: this.o.specs, sampleShape: this.o.sampleShape, classes,
        maxBatch: this.o.maxBatch, chunkRows: this.chunkRows, paramCount, seed: ((this.o.seed ?? 0) * 1000003 + t) >>> 0,
        loss: this.o.loss ?? {}, buffers: this.buffers, backend: backend(),
      };
      const w = new Worker(url, { workerData: init });
      this.workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new WorkerError(`worker ${t} did not start within ${this.timeoutMs} ms`)), this.timeoutMs);
        w.once('message', (m: { type: string }) => {
          clearTimeout(timer);
          if (m.type === 'ready') resolve();
          else reject(new WorkerError(`worker ${t} failed to start: ${JSON.stringify(m)}`));
        });
        w.once('error', (e) => {
          clearTimeout(timer);
          reject(new WorkerError(`worker ${t} failed to start: ${e.message}`));
        });
      }));
      w.on('error', (e) => this.fail(new WorkerError(`worker ${t} crashed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new WorkerError(`worker ${t} exited unexpectedly (code ${code})`));
      });
    }
    await Promise.all(ready);
    this.refWorkers(false);
  }

  // Idle workers are unref'd so a forgotten close() does not keep the process alive; while the
  // main thread awaits them they are ref'd, or Node would see an empty event loop and exit.
  private refWorkers(on: boolean): void {
    for (const w of this.workers) {
      if (on) w.ref();
      else w.unref();
    }
  }

  private fail(e: WorkerError): void {
    this.failure ??= e;
  }

  private check(): void {
    if (this.closed) throw new WorkerError('ParallelStepper: used after close()');
    if (this.failure) throw this.failure;
  }

  private viewsFor(batch: number) {
    let v = this.views.get(batch);
    if (!v) {
      const n0 = sliceStart(batch, this.threads, 1);
      v = {
        x: new Tensor([n0, ...this.o.sampleShape], this.x.subarray(0, n0 * this.sampleSize)),
        y: this.y.subarray(0, n0),
        out: new Tensor([batch, this.classes], this.out.subarray(0, batch * this.classes)),
      };
      this.views.set(batch, v);
    }
    return v;
  }

  /** Copies the batch into shared memory and tells every worker with rows to run `cmd` on its slice. */
  private dispatch(cmd: number, x: Tensor, y: ArrayLike<number> | null, training: boolean): number {
    this.check();
    const batch = x.shape[0];
    if (batch > this.o.maxBatch) {
      throw new ConfigError(`ParallelStepper: batch of ${batch} is larger than maxBatch ${this.o.maxBatch}`);
    }
    if (x.size !== batch * this.sampleSize) {
      throw new ConfigError(`ParallelStepper: input must be [N, ${this.o.sampleShape.join(', ')}], got ${fmtShape(x.shape)}`);
    }
    if (x.data !== this.x) this.x.set(x.data);
    if (y) this.y.set(y);
    // Workers' dropout masks are seeded per step from the main thread's global RNG, whose state
    // a checkpoint saves, so a resumed run draws the same masks as an uninterrupted one.
    const maskSeed = training && this.hasDropout ? defaultRng().nextU32() | 0 : 0;
    const seq = ++this.seq;
    const ctl = this.ctl;
    for (let t = 1; t < this.threads; t++) {
      const start = sliceStart(batch, this.threads, t), end = sliceStart(batch, this.threads, t + 1);
      if (end === start) continue;
      const b = t * CTL_STRIDE;
      ctl[b + CTL.cmd] = cmd;
      ctl[b + CTL.start] = start;
      ctl[b + CTL.count] = end - start;
      ctl[b + CTL.batch] = batch;
      ctl[b + CTL.training] = training ? 1 : 0;
      ctl[b + CTL.maskSeed] = maskSeed;
      Atomics.store(ctl, b + CTL.seq, seq);
      Atomics.notify(ctl, b + CTL.seq);
    }
    return seq;
  }

  private workerError(t: number): WorkerError | undefined {
    const b = t * CTL_STRIDE;
    if (Atomics.load(this.ctl, b + CTL.error) === 0) return undefined;
    const len = this.ctl[b + CTL.errorLength];
    const msg = decoder.decode(this.errorBytes.slice(t * ERROR_BYTES, t * ERROR_BYTES + len));
    return new WorkerError(`worker ${t}: ${msg}`);
  }

  private isActive(batch: number, t: number): boolean {
    return sliceStart(batch, this.threads, t + 1) > sliceStart(batch, this.threads, t);
  }

  /** Waits on the event loop (so a crash or exit event can end the wait) for every active worker. */
  private async join(seq: number, batch: number): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    for (let t = 1; t < this.threads; t++) {
      if (!this.isActive(batch, t)) continue;
      const idx = t * CTL_STRIDE + CTL.done;
      // The worker usually finishes within a few ms of the main thread's share: block briefly first.
      let cur = Atomics.load(this.ctl, idx);
      if (cur !== seq) Atomics.wait(this.ctl, idx, cur, 20);
      while ((cur = Atomics.load(this.ctl, idx)) !== seq) {
        if (this.failure) throw this.failure;
        const left = deadline - performance.now();
        if (left <= 0) throw this.timeout(t);
        const r = waitAsync(this.ctl, idx, cur, Math.min(left, 100));
        if (r.async) {
          this.refWorkers(true);
          try {
            await r.value;
          } finally {
            this.refWorkers(false);
          }
        }
      }
      const err = this.workerError(t);
      if (err) throw (this.failure ??= err);
    }
  }

  /** The synchronous join for inference (evaluate() is synchronous); a hung worker times out. */
  private joinSync(seq: number, batch: number): void {
    const deadline = performance.now() + this.timeoutMs;
    for (let t = 1; t < this.threads; t++) {
      if (!this.isActive(batch, t)) continue;
      const idx = t * CTL_STRIDE + CTL.done;
      let cur: number;
      while ((cur = Atomics.load(this.ctl, idx)) !== seq) {
        const left = deadline - performance.now();
        if (left <= 0) throw this.timeout(t);
        Atomics.wait(this.ctl, idx, cur, Math.min(left, 1000));
      }
      const err = this.workerError(t);
      if (err) throw (this.failure ??= err);
    }
  }

  private timeout(t: number): WorkerError {
    return (this.failure ??= new WorkerError(`worker ${t} did not finish within ${this.timeoutMs} ms`, 'the worker may have crashed or the machine is overloaded'));
  }

  /** One optimisation step on the batch, split across the threads. */
  async step(x: Tensor, y: Int32Array): Promise<{ loss: number; correct: number }> {
    const batch = y.length;
    if (x.shape[0] !== batch) throw new ConfigError(`ParallelStepper: ${x.shape[0]} images but ${batch} labels`);
    const seq = this.dispatch(CMD.step, x, y, true);
    const { model, optimizer } = this.o;
    const v = this.viewsFor(batch);
    const n0 = v.y.length;
    optimizer.zeroGrad();
    let loss = 0, correct = 0;
    let error: unknown;
    try {
      if (n0 > 0) {
        model.train();
        const logits = model.forward(v.x);
        const l = this.lossFn.forward(logits, v.y);
        if (Number.isFinite(l)) model.backward(this.lossFn.backward(n0 / batch));
        if (this.pred.length < n0) this.pred = new Int32Array(n0);
        correct = countCorrect(logits, v.y, this.pred.subarray(0, n0));
        loss = (l * n0) / batch;
      }
    } catch (e) {
      error = e; // still join, so the workers are idle before the error surfaces
    }
    await this.join(seq, batch);
    if (error) throw error;
    const r = this.results;
    for (let t = 1; t < this.threads; t++) {
      const rows = sliceStart(batch, this.threads, t + 1) - sliceStart(batch, this.threads, t);
      if (rows === 0) continue;
      loss += (r[t * RESULT_STRIDE] * rows) / batch;
      correct += r[t * RESULT_STRIDE + 1];
    }
    if (!Number.isFinite(loss)) return { loss, correct: 0 };
    // fixed-order reduction into the master grads (region 0)
    const g = this.grads, P = this.paramCount;
    for (let t = 1; t < this.threads; t++) {
      if (!this.isActive(batch, t)) continue;
      for (let i = 0, j = t * P; i < P; i++, j++) g[i] += g[j];
    }
    optimizer.step();
    return { loss, correct };
  }

  /** Logits for x: [N, ...sampleShape] -> [N, classes], computed across the threads (eval mode). */
  forward(x: Tensor): Tensor {
    const batch = x.shape[0];
    const seq = this.dispatch(CMD.infer, x, null, false);
    const n0 = sliceStart(batch, this.threads, 1);
    let error: unknown;
    try {
      const model = this.o.model;
      const wasTraining = model.training;
      model.eval();
      try {
        const chunk = inferenceChunk(n0, this.chunkRows);
        for (let start = 0; start < n0; start += chunk) {
          const count = Math.min(chunk, n0 - start);
          const logits = model.forward(this.chunkView(start, count));
          this.out.set(logits.data.subarray(0, count * this.classes), start * this.classes);
        }
      } finally {
        model.train(wasTraining);
      }
    } catch (e) {
      error = e;
    }
    this.joinSync(seq, batch);
    if (error) throw error;
    return this.viewsFor(batch).out;
  }

  private chunkView(start: number, count: number): Tensor {
    const key = start * 100003 + count;
    let t = this.chunks.get(key);
    if (!t) this.chunks.set(key, (t = new Tensor([count, ...this.o.sampleShape], this.x.subarray(start * this.sampleSize, (start + count) * this.sampleSize))));
    return t;
  }

  /** Stops the workers; the stepper (and its evaluator) cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const seq = ++this.seq;
    for (let t = 1; t < this.threads; t++) {
      const b = t * CTL_STRIDE;
      this.ctl[b + CTL.cmd] = CMD.exit;
      Atomics.store(this.ctl, b + CTL.seq, seq);
      Atomics.notify(this.ctl, b + CTL.seq);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Inference across the stepper's threads behind the Module interface, for evaluate(). */
class ParallelInference extends Module {
  readonly type = 'ParallelInference';
  constructor(private readonly stepper: ParallelStepper) {
    super();
    this.training = false;
  }
  // x: [N, ...sampleShape] -> logits [N, classes]; a batch over maxBatch runs on the main thread
  forward(x: Tensor): Tensor {
    if (x.shape[0] <= this.stepper.maxBatch) return this.stepper.forward(x);
    const m = this.stepper.model;
    const wasTraining = m.training;
    m.eval();
    try {
      return m.forward(x);
    } finally {
      m.train(wasTraining);
    }
  }
  backward(): Tensor {
    throw new ConfigError('ParallelInference: inference only (no backward)');
  }
  outputShape(inShape: readonly number[]): number[] {
    return this.stepper.model.outputShape(inShape);
  }
  spec(): LayerSpec {
    return this.stepper.model.spec();
  }
}
