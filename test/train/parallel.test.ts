// ParallelStepper: 1 vs N threads agree, a seed and thread count repeat bit for bit, inference
// across threads equals the model's, and a failing, dying or closed pool raises instead of hanging.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, setBackend } from '../../src/engine/backend.ts';
import { Rng } from '../../src/engine/rng.ts';
import { wasmRuntime } from '../../src/engine/wasm/runtime.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { expectClose, loadNetworkFixture, tensorOf, type NetworkCase, type NetworkStep } from '../nn/helpers.ts';
import { WorkerError, activationFloats, inferenceChunk, planFloats, runPlanShare, sliceRows, writePlan } from '../../src/train/parallel-protocol.ts';
import { adamCall, runKernelCall } from '../../src/engine/wasm/elementwise.ts';
import { ParallelStepper } from '../../src/train/parallel.ts';
import { localStepper, type Stepper } from '../../src/train/train.ts';

// bin/launch.mjs: plain JavaScript without types
// @ts-expect-error
import { bundleDir } from '../../bin/launch.mjs';

const open: ParallelStepper[] = [];
// Workers start from the commands' bundle (built by the global setup from these same sources):
// a worker started from the sources registers tsx and compiles every module again, twice the
// start. One test below starts them from the sources and checks the two agree bit for bit.
let workerUrl: URL | undefined;
beforeAll(async () => {
  const dir = await bundleDir();
  if (dir) workerUrl = pathToFileURL(join(dir, 'worker.mjs'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

interface Case { specs: LayerSpec[]; sampleShape: number[]; classes: number }

const mlp: Case = { specs: mlpSpecs([12], 36, 4), sampleShape: [1, 6, 6], classes: 4 };
const mlpDropout: Case = { specs: parseArch('flatten linear(12) relu dropout(0.3) linear(4)', [1, 6, 6], 4), sampleShape: [1, 6, 6], classes: 4 };
const cnnBn: Case = { specs: parseArch('conv(4,3,padding=1) batchnorm relu maxpool(2) flatten linear(8) batchnorm1d relu linear(3)', [1, 8, 8], 3), sampleShape: [1, 8, 8], classes: 3 };
const cnn: Case = { specs: parseArch('conv(4,3,padding=1) relu maxpool(2) conv(6,3,padding=1) relu flatten linear(3)', [1, 8, 8], 3), sampleShape: [1, 8, 8], classes: 3 };

function batches(c: Case, sizes: number[], seed = 5): { x: Tensor; y: Int32Array }[] {
  const rng = new Rng(seed);
  return sizes.map((b) => {
    const x = Tensor.zeros([b, ...c.sampleShape]);
    for (let i = 0; i < x.size; i++) x.data[i] = rng.uniform(-1, 2);
    return { x, y: Int32Array.from({ length: b }, () => rng.int(c.classes)) };
  });
}

/** Trains a fresh model (init seed 3) on the batches; returns its flat parameters and the step results. */
async function train(c: Case, threads: number | 'local', data: { x: Tensor; y: Int32Array }[], seed = 1, inferenceChunkRows?: number, sgd = false, fromSources = false) {
  manualSeed(3);
  const model = buildModel(c.specs);
  const optimizer: Optimizer = sgd ? new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) : new Adam(model.parameters(), { lr: 0.01 });
  let stepper: Stepper;
  if (threads === 'local') stepper = localStepper(model, optimizer);
  else {
    const p = await ParallelStepper.create({ specs: c.specs, model, optimizer, threads, sampleShape: c.sampleShape, maxBatch: 256, seed, timeoutMs: 20_000, inferenceChunkRows, workerUrl: fromSources ? undefined : workerUrl });
    open.push(p);
    stepper = p;
  }
  manualSeed(seed); // the main thread's dropout draws from the global RNG
  const results = [];
  for (const b of data) results.push(await stepper.step(b.x, b.y));
  const flat = Float32Array.from(model.parameters().flatMap((p) => Array.from(p.value.data)));
  return { flat, results, model };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
  return worst;
}

describe('inferenceChunk / activationFloats', () => {
  it('splits a slice into equal chunks of at most maxRows when it can', () => {
    expect([10, 64, 500, 75, 127].map((n) => inferenceChunk(n, 64))).toEqual([10, 64, 50, 25, 64]);
    expect(inferenceChunk(500, 3000)).toBe(500);
  });

  it('sums the layer outputs of one sample', () => {
    // conv 4x8x8 (256), relu (256), pool 4x4x4 (64), conv 6x4x4 (96), relu (96), flatten (96), linear (3)
    expect(activationFloats(buildModel(cnn.specs), cnn.sampleShape)).toBe(256 + 256 + 64 + 96 + 96 + 96 + 3);
  });
});

describe('sliceRows', () => {
  it('covers the batch with contiguous, near-equal slices', () => {
    expect([0, 1, 2].map((t) => sliceRows(64, 3, t))).toEqual([[0, 21], [21, 42], [42, 64]]);
    expect([0, 1].map((t) => sliceRows(1, 2, t))).toEqual([[0, 0], [0, 1]]);
  });
});

describe('the optimizer step split across threads (runPlanShare)', () => {
  it('three shares of a plan give the bits of one whole step: gradients summed in thread order, then Adam', () => {
    const rt = wasmRuntime();
    const rng = new Rng(9);
    const sizes = [37, 5, 130]; // ranges cut across parameters and inside vectors' tails
    const threads = 3;
    const fill = (n: number, lo: number, hi: number) => {
      const a = rt.allocFloats(n)!;
      for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
      return a;
    };
    const make = () => {
      const r = new Rng(4);
      return sizes.map((n) => ({
        w: Float32Array.from({ length: n }, () => r.uniform(-1, 1)),
        g: [0, 1, 2].map(() => Float32Array.from({ length: n }, () => r.uniform(-1, 1))),
        m: Float32Array.from({ length: n }, () => r.uniform(-0.1, 0.1)),
        v: Float32Array.from({ length: n }, () => r.uniform(0, 0.01)),
      }));
    };
    const s = { decay: 1, l2: 0.01, b1: 0.9, b2: 0.999, stepSize: 0.003, invBc2sqrt: 7.5, eps: 1e-8 };
    const inMemory = (a: Float32Array) => {
      const b = fill(a.length, 0, 0);
      b.set(a);
      return b;
    };
    // split: thread 2 is inactive (its gradients must not be added)
    const split = make().map((p) => ({ w: inMemory(p.w), g: p.g.map(inMemory), m: inMemory(p.m), v: inMemory(p.v) }));
    const calls = split.map((p) => adamCall(p.w, p.g[0], p.m, p.v, s)!);
    const plan = new Float64Array(planFloats(sizes.length));
    writePlan(plan, calls, 0b010);
    const grads = [0, 1, 2].map((t) => split.map((p) => p.g[t].byteOffset));
    for (const t of [2, 0, 1]) runPlanShare(plan, grads, t, threads);
    // whole: the same sums and one call per parameter
    const whole = make().map((p) => ({ w: inMemory(p.w), g: p.g.map(inMemory), m: inMemory(p.m), v: inMemory(p.v) }));
    for (const p of whole) {
      for (let i = 0; i < p.w.length; i++) p.g[0][i] += p.g[1][i];
      const c = adamCall(p.w, p.g[0], p.m, p.v, s)!;
      runKernelCall(c, 0, c.n);
    }
    split.forEach((p, i) => {
      expect(Array.from(p.w)).toEqual(Array.from(whole[i].w));
      expect(Array.from(p.m)).toEqual(Array.from(whole[i].m));
      expect(Array.from(p.v)).toEqual(Array.from(whole[i].v));
      expect(Array.from(p.g[0])).toEqual(Array.from(whole[i].g[0]));
    });
    expect(Array.from(split[2].w)).not.toEqual(Array.from(make()[2].w)); // the step did move them
  });
});

describe('ParallelStepper', () => {
  for (const [name, c] of [['MLP', mlp], ['CNN', cnn]] as const) {
    it(`${name}: 1 thread matches the local stepper bit for bit, 2 and 3 threads within float tolerance`, async () => {
      const data = batches(c, [16, 16, 7, 16, 16, 16]);
      const local = await train(c, 'local', data);
      const one = await train(c, 1, data);
      expect(Array.from(one.flat)).toEqual(Array.from(local.flat));
      expect(one.results).toEqual(local.results);
      for (const threads of [2, 3]) {
        const par = await train(c, threads, data);
        expect(maxRelDiff(par.flat, local.flat)).toBeLessThan(1e-4);
        par.results.forEach((r, i) => {
          expect(r.loss).toBeCloseTo(local.results[i].loss, 5);
          expect(r.correct).toBe(local.results[i].correct);
        });
        // the parameters did move: agreement is not two untouched copies
        expect(maxRelDiff(par.flat, (await train(c, 'local', [])).flat)).toBeGreaterThan(1e-3);
      }
    });
  }

  it('wasm kernels: the parameters, every thread\'s gradients and the batch live in the kernel memory the workers share', async () => {
    const data = batches(cnn, [16, 16]);
    const { model } = await train(cnn, 2, data);
    const rt = wasmRuntime();
    for (const p of model.parameters()) {
      expect(rt.holds(p.value.data)).toBe(true);
      expect(rt.holds(p.grad.data)).toBe(true);
    }
    // the workers' gradients came through the shared memory: the step matches one thread's
    const local = await train(cnn, 'local', data);
    expect(maxRelDiff(Float32Array.from(model.parameters().flatMap((p) => Array.from(p.value.data))), local.flat)).toBeLessThan(1e-4);
  });

  it('js kernels: the threads share plain SharedArrayBuffers and agree with one thread', async () => {
    setBackend('js');
    try {
      const data = batches(cnn, [16, 16, 7]);
      const par = await train(cnn, 2, data);
      for (const p of par.model.parameters()) expect(p.value.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(wasmRuntime().holds(par.model.parameters()[0].value.data)).toBe(false);
      const local = await train(cnn, 'local', data);
      expect(maxRelDiff(par.flat, local.flat)).toBeLessThan(1e-4);
      expect(maxRelDiff(par.flat, (await train(cnn, 'local', [])).flat)).toBeGreaterThan(1e-3);
    } finally {
      setBackend(defaultBackend());
    }
  });

  it('batch normalisation: 2 threads use the whole batch\'s statistics (outputs, running statistics and inference agree with 1 thread)', async () => {
    // SGD: Adam would blow the float noise of the biases before each batchnorm (whose gradient is
    // zero in exact arithmetic) up to lr-sized steps, and those differ between thread counts
    const data = batches(cnnBn, [16, 16, 7, 16, 16, 16]);
    const local = await train(cnnBn, 'local', data, 1, undefined, true);
    const stats = (m: typeof local.model) => Float32Array.from(m.buffers().flatMap((b) => Array.from(b.value.data)));
    expect(stats(local.model).length).toBe(4 + 4 + 1 + 8 + 8 + 1); // running mean and var per feature and a count, per layer
    for (const threads of [2]) {
      const par = await train(cnnBn, threads, data, 1, undefined, true);
      expect(maxRelDiff(par.flat, local.flat)).toBeLessThan(1e-4);
      par.results.forEach((r, i) => expect(r.loss).toBeCloseTo(local.results[i].loss, 5));
      expect(maxRelDiff(stats(par.model), stats(local.model))).toBeLessThan(1e-4);
      // the workers' replicas read the main thread's running statistics
      const s = open.at(-1)!;
      const [{ x }] = batches(cnnBn, [40], 9);
      const across = Array.from(s.evaluator.forward(x).data);
      par.model.eval();
      const ref = Array.from(par.model.forward(x).data);
      across.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
    }
    // per-slice statistics (no reduction) would not agree: the check can fail
    const halves = await train(cnnBn, 'local', data.map((b) => ({ x: Tensor.from([4, 1, 8, 8], b.x.data.slice(0, 4 * 64)), y: b.y.slice(0, 4) })), 1, undefined, true);
    expect(maxRelDiff(halves.flat, local.flat)).toBeGreaterThan(1e-3);
  });

  it('repeats bit for bit with the same seed and thread count, dropout included', async () => {
    const data = batches(mlpDropout, [16, 16, 16, 16]);
    const a = await train(mlpDropout, 2, data, 7);
    const b = await train(mlpDropout, 2, data, 7);
    expect(Array.from(a.flat)).toEqual(Array.from(b.flat));
    expect(a.results).toEqual(b.results);
    const c = await train(mlpDropout, 2, data, 8); // another seed: other dropout masks
    expect(Array.from(c.flat)).not.toEqual(Array.from(a.flat));
  });

  it('workers started from the sources (worker.mjs registering tsx) agree bit for bit with the bundle\'s', async () => {
    const data = batches(mlpDropout, [16, 16, 7]);
    const fromSources = await train(mlpDropout, 2, data, 4, undefined, false, true);
    const fromBundle = await train(mlpDropout, 2, data, 4);
    expect(Array.from(fromSources.flat)).toEqual(Array.from(fromBundle.flat));
    expect(fromSources.results).toEqual(fromBundle.results);
  });

  it('handles batches smaller than the thread count', async () => {
    const data = batches(mlp, [1, 2, 1]);
    const local = await train(mlp, 'local', data);
    const par = await train(mlp, 3, data);
    expect(maxRelDiff(par.flat, local.flat)).toBeLessThan(1e-4);
  });

  it('evaluator: inference across threads (in chunks) equals the model in eval mode', async () => {
    const { model } = await train(cnn, 2, batches(cnn, [16, 16]), 1, 16);
    const s = open[0];
    s.evaluator.eval();
    for (const n of [37, 150, 300]) {
      // 37 rows: slices of 18 (chunks of 9) and 19 (16 + 3); 150: slices of 75, chunks
      // of 15; 300 (> maxBatch): the main thread alone
      const [{ x }] = batches(cnn, [n], 9);
      const par = Array.from(s.evaluator.forward(x).data);
      model.eval();
      const ref = Array.from(model.forward(x).data);
      expect(par.length).toBe(n * 3);
      par.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
    }
    expect(model.training).toBe(false);
  });

  it("reports an error thrown in a worker's rows (a bad label) instead of hanging", async () => {
    const data = batches(mlp, [16]);
    const { model } = await train(mlp, 2, data);
    const s = open[0];
    const y = data[0].y.slice();
    y[15] = 99; // row 15 belongs to worker 1
    await expect(s.step(data[0].x, y)).rejects.toThrow(/worker 1: ShapeError: CrossEntropyLoss: target 99/);
    // the pool is unusable afterwards, and says why
    await expect(s.step(data[0].x, data[0].y)).rejects.toBeInstanceOf(WorkerError);
    expect(model.parameters().length).toBe(4);
  });

  it('a worker that dies surfaces as a WorkerError, not a hang', async () => {
    const data = batches(mlp, [16, 16]);
    await train(mlp, 2, data);
    const s = open[0];
    await (s as unknown as { pool: { workers: { terminate(): Promise<number> }[] } }).pool.workers[0].terminate();
    await expect(s.step(data[0].x, data[0].y)).rejects.toThrow(/worker 1 exited unexpectedly/);
  });

  it('refuses to run after close() and closes twice without error', async () => {
    const data = batches(mlp, [16]);
    await train(mlp, 2, data);
    const s = open[0];
    await s.close();
    await s.close();
    await expect(s.step(data[0].x, data[0].y)).rejects.toThrow(/after close/);
    expect(() => s.forward(data[0].x)).toThrow(/after close/);
  });

  it('rejects a batch larger than maxBatch and a bad thread count', async () => {
    const data = batches(mlp, [257]);
    await train(mlp, 2, []);
    await expect(open[0].step(data[0].x, data[0].y)).rejects.toThrow(/larger than maxBatch 256/);
    manualSeed(3);
    const model = buildModel(mlp.specs);
    await expect(
      ParallelStepper.create({ specs: mlp.specs, model, optimizer: new Adam(model.parameters()), threads: 0, sampleShape: [1, 6, 6], maxBatch: 4 }),
    ).rejects.toThrow(/threads must be a positive integer/);
  });
});

// The PyTorch oracle of test/nn/network.test.ts (test/fixtures/network.json.gz: Conv2d-ReLU-
// MaxPool2d-Flatten-Linear, batch 4), trained through the pool: 2 threads must still give PyTorch's
// losses and parameters.
describe('ParallelStepper against the PyTorch network oracle', () => {
  const camel = (k: string) => k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
  const runs: [string, (c: NetworkCase) => NetworkStep[], (c: NetworkCase, m: ReturnType<typeof buildModel>) => Optimizer][] = [
    ['SGD(momentum)', (c) => c.sgd.steps, (c, m) => new SGD(m.parameters(), {
      lr: c.sgd.config.lr as number, momentum: c.sgd.config.momentum as number, dampening: c.sgd.config.dampening as number,
      weightDecay: c.sgd.config.weight_decay as number, nesterov: c.sgd.config.nesterov as boolean,
    })],
    ['Adam', (c) => c.adam.steps, (c, m) => new Adam(m.parameters(), {
      lr: c.adam.config.lr as number, betas: c.adam.config.betas as [number, number], eps: c.adam.config.eps as number,
      weightDecay: c.adam.config.weight_decay as number, amsgrad: c.adam.config.amsgrad as boolean,
    })],
  ];
  for (const [name, stepsOf, makeOpt] of runs) {
    it(`${name}: the oracle's steps with 2 threads match PyTorch`, async () => {
      const c = loadNetworkFixture();
      const specs = c.architecture.map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [camel(k), v])) as LayerSpec);
      const model = buildModel(specs);
      for (const p of model.namedParameters()) p.value.data.set(c.params_initial[p.key].data);
      const s = await ParallelStepper.create({ specs, model, optimizer: makeOpt(c, model), threads: 2, sampleShape: c.input.shape.slice(1), maxBatch: 4, timeoutMs: 20_000, workerUrl });
      open.push(s);
      const x = tensorOf(c.input), y = Int32Array.from(c.target);
      for (const [i, st] of stepsOf(c).entries()) {
        const r = await s.step(x, y);
        expectClose([r.loss], [st.loss_before_step], c.tolerance, `${name} step ${i + 1} loss`);
        for (const p of model.namedParameters()) expectClose(p.value.data, st.params_after_step[p.key], c.tolerance, `${name} step ${i + 1} ${p.key}`);
      }
    });
  }
});
