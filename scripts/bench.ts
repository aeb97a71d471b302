// npm run bench: training and inference throughput of W-MLP and W-CNN on full MNIST, the
// engine's GEMM rate at the shapes those models use, peak RSS, and a heap check of the loop.
//
//   npm run bench -- [--threads N] [--runs 3] [--json bench-results.json] [--models mlp,cnn]
//                    [--backend wasm,js] [--batches 200] [--warmup 20] [--data-dir DIR]
//
// Each (run, model, backend) is measured in a fresh child process (its own JIT warm-up and peak
// RSS); within a run the backends go back to back, so their ratio is measured under the same
// load. The table shows medians over the runs.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Batcher } from '../src/data/batches.ts';
import { loadDataset } from '../src/data/mnist.ts';
import { BACKENDS, setBackend, wasmAvailable, type Backend } from '../src/engine/backend.ts';
import { gemmNN, gemmNT, gemmTN } from '../src/engine/gemm.ts';
import { Rng } from '../src/engine/rng.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { cnnSpecs } from '../src/nn/arch.ts';
import { manualSeed } from '../src/nn/init.ts';
import { buildModel, mlpSpecs } from '../src/nn/models.ts';
import type { LayerSpec } from '../src/nn/module.ts';
import { Adam } from '../src/optim/adam.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { ParallelStepper } from '../src/train/parallel.ts';
import { localStepper, type Stepper } from '../src/train/train.ts';

type ModelName = 'mlp' | 'cnn';

interface Args {
  threads: number;
  runs: number;
  json: string;
  models: ModelName[];
  backends: Backend[];
  batches: number;
  warmup: number;
  dataDir?: string;
  child?: ModelName;
}


function parseArgs(argv: string[]): Args {
  const a: Args = { threads: availableParallelism(), runs: 3, json: 'bench-results.json', models: ['mlp', 'cnn'], backends: wasmAvailable() ? ['wasm', 'js'] : ['js'], batches: 200, warmup: 20 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    const int = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${k} needs a positive integer, got ${v}`);
      i++;
      return n;
    };
    if (k === '--threads') a.threads = int();
    else if (k === '--runs') a.runs = int();
    else if (k === '--batches') a.batches = int();
    else if (k === '--warmup') a.warmup = int();
    else if (k === '--json') (a.json = v), i++;
    else if (k === '--data-dir') (a.dataDir = v), i++;
    else if (k === '--models') {
      a.models = v.split(',') as ModelName[];
      if (!a.models.every((m) => m === 'mlp' || m === 'cnn')) throw new Error(`bench: --models takes mlp,cnn, got ${v}`);
      i++;
    } else if (k === '--backend') {
      a.backends = v.split(',') as Backend[];
      if (!a.backends.every((b) => BACKENDS.includes(b))) throw new Error(`bench: --backend takes wasm,js, got ${v}`);
      i++;
    } else if (k === '--child') (a.child = v as ModelName), i++;
    else throw new Error(`bench: unknown option ${k}`);
  }
  return a;
}

function specsOf(m: ModelName): LayerSpec[] {
  return m === 'mlp' ? mlpSpecs([256]) : cnnSpecs();
}

/** One matrix product of a training step: form, M, N, K and how many times per step. */
interface Product { form: 'NN' | 'NT' | 'TN'; m: number; n: number; k: number; times: number; what: string }

/**
 * The GEMMs one training step of `batch` samples runs (forward, weight gradient, input gradient;
 * the first layer's input gradient included, as in the FLOP count), at the shapes the layers use.
 */
function trainingProducts(specs: LayerSpec[], batch: number): { products: Product[]; flopsPerSample: number } {
  const model = buildModel(specs);
  const products: Product[] = [];
  let shape = [batch, 1, 28, 28];
  let fwdFlops = 0;
  model.layers.forEach((layer, i) => {
    const out = layer.outputShape(shape);
    const s = layer.spec();
    if (s.type === 'Linear') {
      const inF = s.inFeatures as number, outF = s.outFeatures as number;
      products.push(
        { form: 'NT', m: batch, n: outF, k: inF, times: 1, what: `${i} Linear fwd` },
        { form: 'TN', m: outF, n: inF, k: batch, times: 1, what: `${i} Linear dW` },
        { form: 'NN', m: batch, n: inF, k: outF, times: 1, what: `${i} Linear dx` },
      );
      fwdFlops += 2 * inF * outF;
    } else if (s.type === 'Conv2d') {
      const [kH, kW] = s.kernelSize as number[];
      const cin = shape[1], cout = out[1], L = out[2] * out[3], K = cin * kH * kW;
      products.push(
        { form: 'NN', m: cout, n: L, k: K, times: batch, what: `${i} Conv2d fwd` },
        { form: 'NT', m: cout, n: K, k: L, times: batch, what: `${i} Conv2d dW` },
        { form: 'TN', m: K, n: L, k: cout, times: batch, what: `${i} Conv2d dx` },
      );
      fwdFlops += 2 * cout * L * K;
    }
    shape = out;
  });
  return { products, flopsPerSample: 3 * fwdFlops };
}

/** The engine's single-thread GFLOP/s over one training step's products, repeated for ~1 s. */
function gemmRate(products: Product[]): number {
  const bufs = products.map((p) => ({
    p,
    a: new Float32Array(p.m * p.k).map(() => Math.random() - 0.5),
    b: new Float32Array(p.k * p.n).map(() => Math.random() - 0.5),
    c: new Float32Array(p.m * p.n),
  }));
  const once = () => {
    for (const { p, a, b, c } of bufs) {
      const f = p.form === 'NN' ? gemmNN : p.form === 'NT' ? gemmNT : gemmTN;
      for (let t = 0; t < p.times; t++) f(p.m, p.n, p.k, a, b, c, p.form !== 'NN');
    }
  };
  const flops = products.reduce((s, p) => s + 2 * p.m * p.n * p.k * p.times, 0);
  for (let i = 0; i < 3; i++) once();
  let best = 0;
  for (let r = 0; r < 3; r++) {
    let reps = 0;
    const t0 = performance.now();
    do {
      once();
      reps++;
    } while (performance.now() - t0 < 400);
    best = Math.max(best, (flops * reps) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return best;
}

interface ChildResult {
  model: ModelName;
  backend: Backend;
  threads: number;
  trainSamplesPerSec: number;
  inferSamplesPerSec: number;
  testAccuracy: number;
  gemmGflops: number;
  flopsPerSample: number;
  trainGflops: number;
  /** End-to-end training FLOP rate / the 1-thread GEMM rate. */
  gemmFraction: number;
  /** The same per thread: / (threads × GEMM rate). */
  gemmFractionPerThread: number;
  peakRssMb: number;
  /** Median growth of the JS heap over one training step (main thread). */
  heapBytesPerStep: number;
  /** Growth of the heap that survives a full GC, per step (a leak would show here). */
  heapKeptPerStep: number;
  batches: number;
}

async function child(a: Args, model: ModelName): Promise<ChildResult> {
  setBackend(a.backends[0]);
  const specs = specsOf(model);
  const { products, flopsPerSample } = trainingProducts(specs, 64);
  const gemmGflops = gemmRate(products);

  const data = await loadDataset({ dataset: 'mnist', dataDir: a.dataDir, offline: true });
  const norm = { batchSize: 64, mean: data.mean, std: data.std };
  const train = new Batcher(data.train, norm);
  const test = new Batcher(data.test, { ...norm, batchSize: 1000 });

  manualSeed(1);
  const net = buildModel(specs);
  const optimizer = new Adam(net.parameters(), { lr: 1e-3 });
  // as mnist-train runs it: one thread trains the model in place (localStepper), more split each batch
  const parallel = a.threads === 1 ? undefined : await ParallelStepper.create({ specs, model: net, optimizer, threads: a.threads, sampleShape: [1, 28, 28], maxBatch: 1000, seed: 1 });
  const stepper: Stepper = parallel ?? localStepper(net, optimizer);
  try {
    const rng = new Rng(2);
    const it = (function* () {
      for (;;) yield* train.epoch(rng);
    })();
    const next = () => it.next().value as { x: Tensor; y: Int32Array };
    net.train();
    for (let i = 0; i < a.warmup; i++) {
      const b = next();
      await stepper.step(b.x, b.y);
    }
    let samples = 0;
    const t0 = performance.now();
    for (let i = 0; i < a.batches; i++) {
      const b = next();
      await stepper.step(b.x, b.y);
      samples += b.y.length;
    }
    const seconds = (performance.now() - t0) / 1000;

    // heap check (untimed): what one step allocates (the median growth of the heap over a step;
    // a step with a GC in it shrinks the heap and falls out of the median) and what the steps keep
    // (the growth over all of them between two forced GCs)
    const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
    const used = () => getHeapStatistics().used_heap_size;
    const checkSteps = 100;
    gc();
    const kept0 = used();
    const deltas: number[] = [];
    for (let i = 0; i < checkSteps; i++) {
      const b = next();
      const h0 = used();
      await stepper.step(b.x, b.y);
      deltas.push(used() - h0);
    }
    gc();
    const keptPerStep = (used() - kept0) / checkSteps;

    // inference: the 10,000 test images at batch 1000 (one warm-up pass)
    const evalModel = stepper.evaluator ?? net;
    evaluate(evalModel, test);
    const ev = evaluate(evalModel, test);

    const trainSamplesPerSec = samples / seconds;
    const trainGflops = (trainSamplesPerSec * flopsPerSample) / 1e9;
    return {
      model,
      backend: a.backends[0],
      threads: a.threads,
      trainSamplesPerSec,
      inferSamplesPerSec: ev.count / ev.seconds,
      testAccuracy: ev.accuracy,
      gemmGflops,
      flopsPerSample,
      trainGflops,
      gemmFraction: trainGflops / gemmGflops,
      gemmFractionPerThread: trainGflops / (gemmGflops * a.threads),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      heapBytesPerStep: median(deltas),
      heapKeptPerStep: keptPerStep,
      batches: a.batches,
    };
  } finally {
    await parallel?.close();
  }
}

function runChild(a: Args, model: ModelName, be: Backend): Promise<ChildResult> {
  const args = ['--child', model, '--backend', be, '--threads', String(a.threads), '--batches', String(a.batches), '--warmup', String(a.warmup)];
  if (a.dataDir) args.push('--data-dir', a.dataDir);
  return new Promise((resolve, reject) => {
    const cp = fork(fileURLToPath(import.meta.url), args, { execArgv: [...process.execArgv, '--expose-gc'] });
    let result: ChildResult | undefined;
    cp.on('message', (m) => (result = m as ChildResult));
    cp.on('error', reject);
    cp.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`bench child (${model}) exited with code ${code}`))));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (v: number, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) {
    const r = await child(a, a.child);
    process.send!(r);
    return;
  }
  const runs: ChildResult[] = [];
  for (let r = 0; r < a.runs; r++) {
    for (const m of a.models) for (const be of a.backends) {
      const res = await runChild(a, m, be);
      runs.push(res);
      process.stderr.write(
        `run ${r + 1}/${a.runs} ${m} ${be}: train ${fmt(res.trainSamplesPerSec)}/s, infer ${fmt(res.inferSamplesPerSec)}/s, ` +
          `GEMM ${fmt(res.gemmGflops, 2)} GFLOP/s, RSS ${fmt(res.peakRssMb)} MB, heap +${fmt(res.heapBytesPerStep)} B/step allocated, ${fmt(res.heapKeptPerStep)} kept\n`,
      );
    }
  }
  const keys = ['trainSamplesPerSec', 'inferSamplesPerSec', 'gemmGflops', 'trainGflops', 'gemmFraction', 'gemmFractionPerThread', 'peakRssMb', 'heapBytesPerStep', 'heapKeptPerStep', 'testAccuracy'] as const;
  const summary = a.models.flatMap((m) => a.backends.map((be) => {
    const mine = runs.filter((r) => r.model === m && r.backend === be);
    const med = Object.fromEntries(keys.map((k) => [k, median(mine.map((r) => r[k]))])) as Record<(typeof keys)[number], number>;
    return { model: m, backend: be, flopsPerSample: mine[0].flopsPerSample, ...med };
  }));
  // wasm / js per run (the two ran back to back), then the median of those ratios
  const ratio = (s: (typeof summary)[number], k: 'trainSamplesPerSec' | 'inferSamplesPerSec' | 'gemmGflops') => {
    if (s.backend !== 'wasm' || !a.backends.includes('js')) return '';
    const w = runs.filter((r) => r.model === s.model && r.backend === 'wasm'), j = runs.filter((r) => r.model === s.model && r.backend === 'js');
    return `${fmt(median(w.map((r, i) => r[k] / j[i][k])), 2)}x`;
  };

  const rows = [
    ['', ...summary.map((s) => `${s.model === 'mlp' ? 'W-MLP' : 'W-CNN'} ${s.backend}`)],
    ['training samples/s', ...summary.map((s) => fmt(s.trainSamplesPerSec))],
    ['inference samples/s (batch 1000)', ...summary.map((s) => fmt(s.inferSamplesPerSec))],
    ['GEMM GFLOP/s at its shapes (1 thread)', ...summary.map((s) => fmt(s.gemmGflops, 2))],
    ['training FLOPs/sample', ...summary.map((s) => `${fmt(s.flopsPerSample / 1e6, 2)} M`)],
    ['training GFLOP/s end to end', ...summary.map((s) => fmt(s.trainGflops, 2))],
    ['… as a fraction of the GEMM rate', ...summary.map((s) => `${fmt(100 * s.gemmFraction)}%`)],
    [`… per thread (÷ ${a.threads})`, ...summary.map((s) => `${fmt(100 * s.gemmFractionPerThread)}%`)],
    ['wasm/js training (median of per-run ratios)', ...summary.map((s) => ratio(s, 'trainSamplesPerSec'))],
    ['wasm/js inference', ...summary.map((s) => ratio(s, 'inferSamplesPerSec'))],
    ['wasm/js GEMM', ...summary.map((s) => ratio(s, 'gemmGflops'))],
    ['peak RSS (MB)', ...summary.map((s) => fmt(s.peakRssMb))],
    ['JS heap allocated per step (bytes)', ...summary.map((s) => fmt(s.heapBytesPerStep))],
    ['JS heap kept per step (bytes)', ...summary.map((s) => fmt(s.heapKeptPerStep))],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  console.log(`mnist-ts bench: ${a.threads} threads, medians of ${a.runs} runs, ${a.batches} timed batches of 64 after ${a.warmup} warm-up`);
  console.log(`${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}`);
  for (const r of rows) console.log(line(r));
  const out = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
    options: { threads: a.threads, runs: a.runs, batches: a.batches, warmup: a.warmup, backends: a.backends },
    summary,
    runs,
  };
  writeFileSync(a.json, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${a.json}`);
}

await main();
