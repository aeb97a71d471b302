// Data-parallel training and inference on worker threads: every thread holds a replica of the
// model whose parameters alias one shared region (with the wasm kernels, blocks of the main
// thread's kernel memory, which the workers adopt; else SharedArrayBuffers). A step splits the
// batch by rows and each thread writes its gradients into its own region; then either every
// thread sums the gradients and runs the optimizer's update over its own range of the elements
// (wasm), or the main thread sums them in a fixed order and steps the optimizer. Either way a
// seed and a thread count give bit-identical runs.
// The shared layout is in parallel-protocol.ts, the threads in worker-pool.ts, the step in step.ts.
import { backend, useWasm } from '../engine/backend.ts';
import { wasmAddInto } from '../engine/wasm/elementwise.ts';
import { shareableKernelMemory, wasmRuntime } from '../engine/wasm/runtime.ts';
import { ConfigError } from '../engine/errors.ts';
import { Tensor, fmtShape, shapeSize } from '../engine/tensor.ts';
import { defaultRng } from '../nn/init.ts';
import { CrossEntropyLoss, type CrossEntropyOptions } from '../nn/loss.ts';
import { parameterCount } from '../nn/models.ts';
import { Module, type LayerSpec } from '../nn/module.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import {
  ACTIVATION_BUDGET, CMD, CTL_STRIDE, ERROR_BYTES, RESULT_STRIDE, activationFloats, bindBuffers, bindParameters, inferenceChunk,
  planFloats, runPlanShare, sharedBufferViews, writePlan, sliceStart, type KernelBlocks, type ParameterViews, type SharedBuffers, type WorkerInit,
} from './parallel-protocol.ts';
import { SharedAllReduce, attachAllReduce, reduceBuffers, reduceWidth } from './collective.ts';
import { SliceStep } from './step.ts';
import { WorkerPool } from './worker-pool.ts';
import type { Stepper } from './train.ts';

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

/**
 * The multi-threaded Stepper: `threads - 1` workers plus the main thread. Create with
 * ParallelStepper.create (after loading any checkpoint into the model) and close() when done.
 */
export class ParallelStepper implements Stepper {
  readonly threads: number;
  /** A module that runs inference across the threads, for evaluate(). */
  readonly evaluator: Module;
  private readonly pool: WorkerPool;
  private readonly results: Float64Array;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  private readonly out: Float32Array;
  // the parameters' views, and every thread's gradients ([thread][parameter]); held so the
  // kernel-memory blocks behind them live as long as the stepper
  private readonly params: ParameterViews;
  private readonly sampleSize: number;
  private readonly classes: number;
  private readonly slice: SliceStep;
  private readonly chunkRows: number;
  private readonly hasDropout: boolean;
  private readonly reduce: SharedAllReduce;
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

  private readonly plan: Float64Array;

  private constructor(private readonly o: ParallelOptions, buffers: SharedBuffers, params: ParameterViews, private readonly kernel?: KernelBlocks) {
    this.threads = o.threads;
    this.pool = new WorkerPool(o.threads, buffers, o.timeoutMs ?? 120_000);
    this.results = new Float64Array(buffers.results);
    this.params = params;
    this.x = params.x;
    this.plan = new Float64Array(buffers.plan);
    this.y = new Int32Array(buffers.y);
    this.out = new Float32Array(buffers.out);
    this.sampleSize = shapeSize(o.sampleShape);
    this.classes = this.out.length / o.maxBatch;
    this.slice = new SliceStep(o.model, new CrossEntropyLoss(o.loss), () => o.optimizer.zeroGrad());
    this.chunkRows = o.inferenceChunkRows ?? Math.max(1, Math.floor(ACTIVATION_BUDGET / activationFloats(o.model, o.sampleShape)));
    this.evaluator = new ParallelInference(this);
    this.hasDropout = o.specs.some((l) => l.type === 'Dropout');
    // while the main thread waits for batch statistics, a worker that failed ends the wait
    this.reduce = new SharedAllReduce(0, buffers.reduce, o.timeoutMs ?? 120_000, () => {
      for (let t = 1; t < this.threads; t++) {
        const e = this.pool.workerError(t);
        if (e) throw e;
      }
    });
    attachAllReduce(o.model, this.reduce, true);
  }

  /** Moves the model's parameters into shared memory and starts threads - 1 workers. */
  static async create(o: ParallelOptions): Promise<ParallelStepper> {
    if (!Number.isInteger(o.threads) || o.threads < 1) throw new ConfigError(`ParallelStepper: threads must be a positive integer, got ${o.threads}`);
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new ConfigError(`ParallelStepper: maxBatch must be a positive integer, got ${o.maxBatch}`);
    const outShape = o.model.outputShape([1, ...o.sampleShape]);
    if (outShape.length !== 2) throw new ConfigError(`ParallelStepper: the model must output [N, classes], but gives ${fmtShape(outShape)} for one sample`);
    const classes = outShape[1];
    const params = o.model.parameters();
    const paramCount = parameterCount(o.model);
    const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
    // with the wasm kernels, the parameters, gradients and batch live in the kernel memory the
    // workers adopt, so no kernel call copies them in or out
    const memory = backend() === 'wasm' ? shareableKernelMemory() : null;
    const inMemory = memory ? 0 : 1;
    const batchFloats = o.maxBatch * shapeSize(o.sampleShape);
    const buffers: SharedBuffers = {
      params: sab(inMemory * 4 * paramCount),
      grads: sab(inMemory * 4 * paramCount * o.threads),
      x: sab(inMemory * 4 * batchFloats),
      y: sab(4 * o.maxBatch),
      out: sab(4 * o.maxBatch * classes),
      ctl: sab(4 * CTL_STRIDE * o.threads),
      results: sab(8 * RESULT_STRIDE * o.threads),
      errors: sab(ERROR_BYTES * o.threads),
      stats: sab(4 * o.model.buffers().reduce((n, b) => n + b.value.size, 0)),
      reduce: reduceBuffers(o.threads, reduceWidth(o.model)),
      plan: sab(8 * planFloats(memory ? params.length : 0)),
    };
    let views: ParameterViews;
    let kernel: KernelBlocks | undefined;
    if (memory) {
      const rt = wasmRuntime();
      const block = (n: number) => rt.allocFloats(n)!;
      views = {
        values: params.map((p) => block(p.value.size)),
        grads: Array.from({ length: o.threads }, () => params.map((p) => block(p.value.size))),
        x: block(batchFloats),
      };
      kernel = { memory, values: views.values.map((v) => v.byteOffset), grads: views.grads.map((r) => r.map((v) => v.byteOffset)), x: views.x.byteOffset };
    } else views = sharedBufferViews(params, buffers, o.threads);
    bindParameters(params, views.values, views.grads[0], true);
    bindBuffers(o.model, buffers.stats, true);
    o.model.inputGrad = false;
    const stepper = new ParallelStepper(o, buffers, views, kernel);
    try {
      await stepper.pool.start(o.workerUrl ?? new URL('./worker.mjs', import.meta.url), (t): WorkerInit => ({
        index: t, specs: o.specs, sampleShape: o.sampleShape, classes,
        maxBatch: o.maxBatch, chunkRows: stepper.chunkRows, seed: ((o.seed ?? 0) * 1000003 + t) >>> 0,
        loss: o.loss ?? {}, buffers, kernel, timeoutMs: o.timeoutMs ?? 120_000, backend: backend(),
      }));
    } catch (e) {
      await stepper.close();
      throw e;
    }
    return stepper;
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
    this.pool.check();
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
    return this.pool.send(cmd, batch, training, maskSeed);
  }

  /** One optimisation step on the batch, split across the threads. */
  async step(x: Tensor, y: Int32Array): Promise<{ loss: number; correct: number }> {
    const batch = y.length;
    if (x.shape[0] !== batch) throw new ConfigError(`ParallelStepper: ${x.shape[0]} images but ${batch} labels`);
    this.reduce.begin((t) => sliceStart(batch, this.threads, t + 1) - sliceStart(batch, this.threads, t));
    const seq = this.dispatch(CMD.step, x, y, true);
    const v = this.viewsFor(batch);
    const n0 = v.y.length;
    let loss = 0, correct = 0;
    let error: unknown;
    try {
      if (n0 > 0) {
        this.o.model.train();
        const r = this.slice.run(v.x, v.y, batch);
        loss = (r.loss * n0) / batch;
        correct = r.correct;
      } else this.o.optimizer.zeroGrad(); // the workers' gradients are summed into these
    } catch (e) {
      error = e; // still join, so the workers are idle before the error surfaces
    }
    await this.pool.join(seq, batch);
    if (error) throw error;
    const r = this.results;
    for (let t = 1; t < this.threads; t++) {
      const rows = sliceStart(batch, this.threads, t + 1) - sliceStart(batch, this.threads, t);
      if (rows === 0) continue;
      loss += (r[t * RESULT_STRIDE] * rows) / batch;
      correct += r[t * RESULT_STRIDE + 1];
    }
    if (!Number.isFinite(loss)) return { loss, correct: 0 };
    if (this.kernel) {
      // the optimizer's step as wasm kernel calls, which the threads split between them
      const calls = this.o.optimizer.kernelStep();
      if (calls) {
        let mask = 0;
        for (let t = 1; t < this.threads; t++) if (this.pool.isActive(batch, t)) mask |= 1 << t;
        writePlan(this.plan, calls, mask);
        const seq = this.pool.send(CMD.update, this.threads, true, 0);
        let failed: unknown;
        try {
          runPlanShare(this.plan, this.kernel.grads, 0, this.threads);
        } catch (e) {
          failed = e;
        }
        await this.pool.join(seq, this.threads);
        if (failed) throw failed;
        return { loss, correct };
      }
    }
    // fixed-order reduction into the master grads (thread 0's)
    const g = this.params.grads, wasm = useWasm();
    for (let t = 1; t < this.threads; t++) {
      if (!this.pool.isActive(batch, t)) continue;
      for (let p = 0; p < g[0].length; p++) {
        const to = g[0][p], from = g[t][p];
        if (!(wasm && wasmAddInto(to, from))) for (let i = 0; i < to.length; i++) to[i] += from[i];
      }
    }
    this.o.optimizer.step();
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
    this.pool.joinSync(seq, batch);
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
    await this.pool.close();
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
