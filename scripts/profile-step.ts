// Where one training step of a model goes, layer by layer, on one thread: each layer's forward and
// backward timed over many steps on random inputs, plus the loss and the optimizer step.
// Usage: npx tsx scripts/profile-step.ts [--model cnn|mlp|cnn-bn] [--batch 64] [--steps 60] [--backend wasm|js] [--sparse] [--sab]
import { parseArgs } from 'node:util';
import { setBackend, type Backend } from '../src/engine/backend.ts';
import { Rng } from '../src/engine/rng.ts';
import { Tensor } from '../src/engine/tensor.ts';
import { ARCH_PRESETS, parseArch } from '../src/nn/arch.ts';
import { CrossEntropyLoss } from '../src/nn/loss.ts';
import { buildModel } from '../src/nn/models.ts';
import { Adam } from '../src/optim/adam.ts';
import { bindParameters } from '../src/train/parallel-protocol.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'cnn' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '60' },
    backend: { type: 'string', default: 'wasm' },
    sab: { type: 'boolean', default: false },
    // MNIST-like inputs: 19% of the pixels off the background value (what the sparse products see)
    sparse: { type: 'boolean', default: false },
  },
});
setBackend(values.backend as Backend);
const arch = values.model === 'mlp' ? 'flatten linear(256) relu linear(10)' : ARCH_PRESETS[values.model!];
if (!arch) throw new Error(`unknown model ${values.model}`);
const batch = Number(values.batch), steps = Number(values.steps);

const rng = new Rng(1);
const model = buildModel(parseArch(arch), rng);
model.inputGrad = false;
const loss = new CrossEntropyLoss();
if (values.sab) {
  const ps = model.parameters(); const P = ps.reduce((n, p) => n + p.value.size, 0);
  const sab = () => { let off = 0; const all = new Float32Array(new SharedArrayBuffer(4 * P)); return ps.map((p) => all.subarray(off, (off += p.value.size))); };
  bindParameters(ps, sab(), sab(), true);
}
const opt = new Adam(model.parameters(), { lr: 1e-3 });
const x = new Tensor([batch, 1, 28, 28], Float32Array.from({ length: batch * 784 }, () => (!values.sparse || rng.next() < 0.19 ? rng.next() * 2 - 0.4 : -0.4242)));
const y = Int32Array.from({ length: batch }, () => Math.floor(rng.next() * 10));

const names = model.layers.map((l, i) => `${i} ${l.type}`);
const fwd = new Float64Array(names.length), bwd = new Float64Array(names.length);
let tLoss = 0, tOpt = 0, tAll = 0;

function step(timed: boolean): void {
  const t0 = performance.now();
  model.zeroGrad();
  let h = x;
  for (let i = 0; i < model.layers.length; i++) {
    const t = performance.now();
    h = model.layers[i].forward(h);
    if (timed) fwd[i] += performance.now() - t;
  }
  let t = performance.now();
  loss.forward(h, y);
  let d = loss.backward();
  if (timed) tLoss += performance.now() - t;
  const stop = model.layers.findIndex((l) => l.parameters().length > 0);
  for (let i = model.layers.length - 1; i >= stop; i--) {
    model.layers[i].inputGrad = i > stop;
    const tb = performance.now();
    d = model.layers[i].backward(d);
    if (timed) bwd[i] += performance.now() - tb;
  }
  t = performance.now();
  opt.step();
  if (timed) {
    tOpt += performance.now() - t;
    tAll += performance.now() - t0;
  }
}

for (let s = 0; s < 10; s++) step(false);
for (let s = 0; s < steps; s++) step(true);
const per = (ms: number) => ((ms * 1000) / (steps * batch)).toFixed(1).padStart(8);
console.log(`${values.model}, ${values.backend}, batch ${batch}, ${steps} steps: µs per sample`);
console.log(`${'layer'.padEnd(22)} forward backward`);
names.forEach((n, i) => console.log(`${n.padEnd(22)}${per(fwd[i])} ${per(bwd[i])}`));
console.log(`${'loss'.padEnd(22)}${per(tLoss)}`);
console.log(`${'optimizer'.padEnd(22)}${per(tOpt)}`);
console.log(`${'whole step'.padEnd(22)}${per(tAll)}  (${((steps * batch) / (tAll / 1000)).toFixed(0)} samples/s)`);
