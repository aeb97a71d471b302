// Import: a safetensors file written by PyTorch (test/fixtures/interop, made by
// scripts/interop/make_pytorch_fixture.py) predicts like PyTorch did; our own export comes back
// bit for bit without --arch, BatchNorm's running statistics and counts too (int64 from PyTorch);
// keys and shapes that do not fit the architecture are refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { InteropError } from '../../src/interop/errors.ts';
import { weightsFromSafetensors } from '../../src/interop/import.ts';
import { modelMetadata } from '../../src/interop/onnx.ts';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../src/interop/safetensors.ts';
import { safetensorsOf } from '../../src/cli/export.ts';
import { toOnnx, exportModelOf } from '../../src/interop/onnx.ts';
import { CNN_BN_ARCH, parseArch } from '../../src/nn/arch.ts';
import { argmaxRows } from '../../src/nn/loss.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { FORMAT, VERSION, readWeights, serializeWeights, stateDict, type WeightsFile } from '../../src/weights/checkpoint.ts';
import { CLASSES, INPUT, compare, testImages } from './helpers.ts';

const FIX = new URL('../fixtures/interop/', import.meta.url);
/** A float array's bits (the array may be a view into a larger buffer, such as the kernel memory). */
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
const fixture = JSON.parse(readFileSync(new URL('pytorch-small.json', FIX), 'utf8')) as { arch: string; mean: number; std: number; pixels: number[][]; logits: number[][] };
const pytorchFile = () => decodeSafetensors(readFileSync(new URL('pytorch-small.safetensors', FIX)), 'pytorch-small.safetensors');
const defaults = { dataset: 'mnist', input: INPUT, classes: CLASSES };

function importErr(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InteropError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected an InteropError');
}

describe('mnist-import of a PyTorch-written file', () => {
  it('imports with --arch and predicts like PyTorch did: logits within 1e-5, the same classes', () => {
    const file = weightsFromSafetensors(pytorchFile(), { label: 'pytorch-small.safetensors', arch: fixture.arch, defaults });
    // through the weights file and back, as mnist-predict would load it
    const { model } = readWeights(serializeWeights(file));
    const n = fixture.pixels.length;
    const x = new Float32Array(n * 784);
    fixture.pixels.flat().forEach((v, i) => (x[i] = (v / 255 - fixture.mean) / fixture.std));
    const out = model.eval().forward(new Tensor([n, 1, 28, 28], x));
    let maxDiff = 0;
    for (let i = 0; i < out.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i] - fixture.logits.flat()[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    const theirs = argmaxRows(new Tensor([n, 10], Float32Array.from(fixture.logits.flat())));
    expect([...argmaxRows(out)]).toEqual([...theirs]);
    expect(file.model.arch).toBe(fixture.arch);
    expect(file.input).toEqual(INPUT);
  });

  it('without --arch, says the file does not name its architecture', () => {
    expect(importErr(() => weightsFromSafetensors(pytorchFile(), { label: 'p.safetensors', defaults })))
      .toMatch(/^p\.safetensors: the file does not say which architecture its tensors belong to/);
  });

  it('refuses an --arch whose shapes differ, naming the tensor', () => {
    const msg = importErr(() => weightsFromSafetensors(pytorchFile(), { label: 'p.safetensors', arch: fixture.arch.replace('conv(4,3', 'conv(4,5'), defaults }));
    expect(msg).toMatch(/^p\.safetensors: tensor "0\.weight"/);
    expect(msg).toMatch(/\[4, 1, 5, 5\]/);
  });

  it('refuses an --arch with other keys: a tensor missing, a tensor extra', () => {
    expect(importErr(() => weightsFromSafetensors(pytorchFile(), { label: 'p', arch: `${fixture.arch.replace(' linear(10)', ' linear(32) relu linear(10)')}`, defaults })))
      .toMatch(/^p: tensor "6\.weight"/);
    expect(importErr(() => weightsFromSafetensors(pytorchFile(), { label: 'p', arch: 'conv(4,3,padding=1) relu maxpool(2) flatten linear(10)', defaults })))
      .toMatch(/^p: tensor "3\.(bias|weight)": no such parameter in the model/);
  });
});

describe('our own safetensors export comes back', () => {
  const layers = parseArch('conv(4,3) relu maxpool(2) flatten linear(10)');
  const model = buildModel(layers, new Rng(5));
  const tensors: Record<string, NamedTensor> = {};
  for (const p of model.namedParameters()) tensors[p.key] = { shape: [...p.value.shape], data: p.value.data };
  const meta = { ...modelMetadata({ name: 'cnn-small', arch: 'conv(4,3) relu maxpool(2) flatten linear(10)', layers, input: INPUT, classes: CLASSES, dataset: 'mnist' }), 'mnist_ts.training': '{"optimizer":"adam","lr":0.001}' };

  it('without --arch, every parameter bit for bit, with its name, arch, input, classes and training', () => {
    const file = weightsFromSafetensors(decodeSafetensors(encodeSafetensors(tensors, meta), 'm'), { label: 'm', defaults: { ...defaults, classes: ['a'] } });
    const { model: back } = readWeights(serializeWeights(file));
    const want = model.namedParameters(), got = back.namedParameters();
    expect(got.map((p) => p.key)).toEqual(want.map((p) => p.key));
    for (let i = 0; i < want.length; i++) expect(bits(got[i].value.data)).toEqual(bits(want[i].value.data));
    expect(file.model).toEqual({ name: 'cnn-small', arch: 'conv(4,3) relu maxpool(2) flatten linear(10)', layers });
    expect(file.classes).toEqual(CLASSES);
    expect(file.training).toEqual({ optimizer: 'adam', lr: 0.001 });
  });

  it('strips the "module." prefix DistributedDataParallel puts on every key', () => {
    const wrapped = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [`module.${k}`, t]));
    const file = weightsFromSafetensors(decodeSafetensors(encodeSafetensors(wrapped, meta), 'm'), { label: 'm', defaults });
    expect(Object.keys(file.state)).toEqual(Object.keys(tensors));
  });

  it('refuses metadata layers that are not valid, and non-finite weights', () => {
    expect(importErr(() => weightsFromSafetensors(decodeSafetensors(encodeSafetensors(tensors, { ...meta, 'mnist_ts.layers': '[{"type":' }), 'm'), { label: 'm', defaults })))
      .toMatch(/^m: __metadata__\["mnist_ts\.layers"\] is not valid/);
    expect(importErr(() => weightsFromSafetensors(decodeSafetensors(encodeSafetensors(tensors, { ...meta, 'mnist_ts.layers': '[{"type":"Linear","inFeatures":1e9,"outFeatures":1e9}]' }), 'm'), { label: 'm', defaults })))
      .toMatch(/^m: model\.layers\[0\]\.inFeatures/);
    const nan = { ...tensors, '0.bias': { shape: [4], data: Float32Array.from([0, NaN, 0, 0]) } };
    expect(importErr(() => weightsFromSafetensors(decodeSafetensors(encodeSafetensors(nan, meta), 'm'), { label: 'm', defaults })))
      .toMatch(/^m: /);
  });
});

describe('a model shaped like the cnn-bn preset round-trips through safetensors and ONNX', () => {
  // cnn-bn with fewer channels (the whole preset runs in interop.slow.test.ts); running statistics
  // and a batch count far from their initial 0, 1 and 0, so a file that dropped or reset them could not pass
  const arch = CNN_BN_ARCH.replace('conv(16,', 'conv(4,').replace('conv(32,', 'conv(8,').replace('linear(128)', 'linear(24)');
  const layers = parseArch(arch);
  const model = buildModel(layers, new Rng(9));
  const rng = new Rng(10);
  for (const b of model.namedBuffers()) {
    if (b.name === 'num_batches_tracked') b.value.data[0] = 937;
    else for (let i = 0; i < b.value.size; i++) b.value.data[i] = b.name === 'running_var' ? rng.uniform(0.2, 3) : rng.uniform(-1, 1);
  }
  model.eval();
  const file: WeightsFile = {
    format: FORMAT, version: VERSION, createdAt: '2026-01-01T00:00:00.000Z', model: { name: 'arch', arch, layers },
    input: INPUT, classes: CLASSES, dataset: 'mnist', training: { optimizer: 'adam', lr: 0.001 }, metrics: [], state: stateDict(model),
  };
  const everyTensor = (m: Sequential) => [...m.namedParameters(), ...m.namedBuffers()];

  it('mnist-export .safetensors -> mnist-import: weights, running statistics and batch counts bit for bit; the same logits', async () => {
    const back = weightsFromSafetensors(decodeSafetensors(safetensorsOf(file, model), 'm'), { label: 'm', defaults });
    const { model: again } = readWeights(serializeWeights(back));
    const want = everyTensor(model), got = everyTensor(again);
    expect(got.map((p) => p.key)).toEqual(want.map((p) => p.key));
    expect(got.map((p) => p.key)).toContain('10.running_var');
    for (let i = 0; i < want.length; i++) expect(bits(got[i].value.data), want[i].key).toEqual(bits(want[i].value.data));
    // and the imported model exports to ONNX that runs like the original
    const { x } = await testImages(50);
    const r = await compare(model, toOnnx(exportModelOf(back, again.eval())), x, 50);
    expect(r.mismatches).toBe(0);
    expect(r.maxDiff).toBeLessThan(1e-4);
  });

  it('a PyTorch state_dict (num_batches_tracked as int64, no metadata) imports with --arch', () => {
    const bytes = safetensorsOf(file, model);
    // the same file as PyTorch's save_file(model.state_dict()) lays it out: the counts as I64
    const st = decodeSafetensors(bytes, 'torch.safetensors');
    const entries = Object.entries(st.tensors);
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const [k, t] of entries) {
      const count = k.endsWith('num_batches_tracked');
      const raw = count ? new Uint8Array(BigInt64Array.from(t.data, (v) => BigInt(v)).buffer) : new Uint8Array(Float32Array.from(t.data).buffer);
      header[k] = { dtype: count ? 'I64' : 'F32', shape: t.shape, data_offsets: [offset, offset + raw.length] };
      chunks.push(raw);
      offset += raw.length;
    }
    const h = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + offset);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    let o = 8 + h.length;
    for (const c of chunks) (out.set(c, o), (o += c.length));
    const torchFile = decodeSafetensors(out, 'torch.safetensors');
    expect(torchFile.dtypes['1.num_batches_tracked']).toBe('I64');
    const back = weightsFromSafetensors(torchFile, { label: 'torch.safetensors', arch, defaults });
    expect(back.state['5.num_batches_tracked']).toEqual({ shape: [], data: [937] });
    const { model: again } = readWeights(serializeWeights(back));
    const want = everyTensor(model), got = everyTensor(again);
    for (let i = 0; i < want.length; i++) expect(bits(got[i].value.data), want[i].key).toEqual(bits(want[i].value.data));
  });
});
