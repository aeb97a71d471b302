// One worker thread of ParallelStepper (parallel.ts; shared layout in parallel-protocol.ts): builds a
// replica of the model over the shared parameters, then loops: wait for a command, run the slice
// step (step.ts) or inference on its rows, signal done.
import { workerData, parentPort } from 'node:worker_threads';
import { Tensor } from '../engine/tensor.ts';
import { setBackend } from '../engine/backend.ts';
import { adoptKernelMemory, wasmRuntime } from '../engine/wasm/runtime.ts';
import { defaultRng, manualSeed } from '../nn/init.ts';
import { CrossEntropyLoss } from '../nn/loss.ts';
import { buildModel } from '../nn/models.ts';
import { SharedAllReduce, attachAllReduce } from './collective.ts';
import {
  CMD, CTL, CTL_STRIDE, ERROR_BYTES, RESULT_STRIDE, bindBuffers, bindParameters, inferenceChunk, runPlanShare, sharedBufferViews, sliceStart,
  type KernelBlocks, type ParameterViews, type WorkerInit,
} from './parallel-protocol.ts';
import { SliceStep } from './step.ts';

const init = workerData as WorkerInit;
const { index, buffers, sampleShape, classes, kernel } = init;
// before anything allocates: this thread's kernels then work in the main thread's memory
if (kernel) adoptKernelMemory(kernel.memory);
setBackend(init.backend);
manualSeed(init.seed);
const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
const model = buildModel(init.specs);
const params = model.parameters();
const shared = kernel ? kernelViews(kernel) : sharedBufferViews(params, buffers, buffers.reduce.threads);
const myGrads = shared.grads[index];
bindParameters(params, shared.values, myGrads, false);
bindBuffers(model, buffers.stats, false);
const reduce = new SharedAllReduce(index, buffers.reduce, init.timeoutMs);
attachAllReduce(model, reduce, false);
const slice = new SliceStep(model, new CrossEntropyLoss(init.loss), () => {
  for (const g of myGrads) g.fill(0);
});
const ctl = new Int32Array(buffers.ctl);
const results = new Float64Array(buffers.results);
const errorBytes = new Uint8Array(buffers.errors, index * ERROR_BYTES, ERROR_BYTES);
const xs = shared.x;
const plan = new Float64Array(buffers.plan);

// views of the main thread's blocks (it keeps them alive until the workers exit)
function kernelViews(k: KernelBlocks): ParameterViews {
  const rt = wasmRuntime();
  const sizes = params.map((p) => p.value.size);
  return {
    values: k.values.map((addr, i) => rt.floatsAt(addr, sizes[i])),
    grads: k.grads.map((row) => row.map((addr, i) => rt.floatsAt(addr, sizes[i]))),
    x: rt.floatsAt(k.x, init.maxBatch * sampleSize),
  };
}
const ys = new Int32Array(buffers.y);
const out = new Float32Array(buffers.out);
const base = index * CTL_STRIDE;

// views of this thread's rows, per (start, count)
const views = new Map<number, { x: Tensor; y: Int32Array }>();
function viewsFor(start: number, count: number) {
  const key = start * 100003 + count;
  let v = views.get(key);
  if (!v) {
    v = { x: new Tensor([count, ...sampleShape], xs.subarray(start * sampleSize, (start + count) * sampleSize)), y: ys.subarray(start, start + count) };
    views.set(key, v);
  }
  return v;
}

function run(cmd: number): void {
  const start = ctl[base + CTL.start], count = ctl[base + CTL.count], batch = ctl[base + CTL.batch];
  const training = ctl[base + CTL.training] === 1;
  if (model.training !== training) model.train(training);
  if (cmd === CMD.update) {
    runPlanShare(plan, kernel!.grads, index, buffers.reduce.threads);
    return;
  }
  if (cmd === CMD.infer) {
    const chunk = inferenceChunk(count, init.chunkRows);
    for (let s = start; s < start + count; s += chunk) {
      const n = Math.min(chunk, start + count - s);
      const logits = model.forward(viewsFor(s, n).x);
      out.set(logits.data.subarray(0, n * classes), s * classes);
    }
    return;
  }
  const v = viewsFor(start, count);
  const maskSeed = ctl[base + CTL.maskSeed];
  if (maskSeed !== 0) defaultRng().reseed(((maskSeed >>> 0) ^ Math.imul(index, 0x9e3779b9)) >>> 0);
  const threads = buffers.reduce.threads;
  reduce.begin((t) => sliceStart(batch, threads, t + 1) - sliceStart(batch, threads, t));
  const r = slice.run(v.x, v.y, batch);
  results[index * RESULT_STRIDE] = r.loss;
  results[index * RESULT_STRIDE + 1] = r.correct;
}

parentPort!.postMessage({ type: 'ready' });
let seen = 0;
for (;;) {
  Atomics.wait(ctl, base + CTL.seq, seen);
  seen = Atomics.load(ctl, base + CTL.seq);
  const cmd = ctl[base + CTL.cmd];
  if (cmd === CMD.exit) break;
  try {
    run(cmd);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const { written } = new TextEncoder().encodeInto(msg, errorBytes);
    ctl[base + CTL.errorLength] = written;
    Atomics.store(ctl, base + CTL.error, 1);
  }
  Atomics.store(ctl, base + CTL.done, seen);
  Atomics.notify(ctl, base + CTL.done);
}
