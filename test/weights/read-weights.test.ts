// readWeights on untrusted input: every malformed, inconsistent, oversized or hostile document
// fails with one CheckpointError line naming the field, before any layer is built from it.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { formatArch, parseArch } from '../../src/nn/arch.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import { Adam } from '../../src/optim/adam.ts';
import {
  CheckpointError, FORMAT, VERSION, readWeights, serializeWeights, stateDict, validateWeights, type WeightsFile,
} from '../../src/weights/checkpoint.ts';
import { parseUntrustedJson } from '../../src/weights/json-fields.ts';
import { captureResume } from '../../src/weights/resume.ts';

// conv(4,3,padding=1) relu maxpool(2) dropout(0.1) flatten linear(10): 4x14x14 = 784 features
const SPECS: LayerSpec[] = [
  { type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
  { type: 'ReLU' },
  { type: 'MaxPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
  { type: 'Dropout', p: 0.1 },
  { type: 'Flatten', startDim: 1, endDim: -1 },
  { type: 'Linear', inFeatures: 784, outFeatures: 10, bias: true },
];

function goodFile(): WeightsFile {
  const model = buildModel(SPECS, new Rng(4));
  const optimizer = new Adam(model.parameters());
  return {
    format: FORMAT, version: VERSION, createdAt: '2025-01-01T00:00:00.000Z',
    model: { name: 'cnn', arch: 'conv(4,3,padding=1) relu maxpool(2) dropout(0.1) flatten linear(10)', layers: SPECS },
    input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 },
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    dataset: 'mnist', training: { optimizer: 'adam', lr: 0.001, hidden: [1, 2] },
    metrics: [{ epoch: 1, trainLoss: 0.5, trainAccuracy: 0.8, testLoss: 0.4, testAccuracy: 0.85, seconds: 1, samplesPerSecond: 100, lr: 0.001 }],
    state: stateDict(model),
    resume: captureResume({ epoch: 1, epochs: 2, batches: 10, optimizer, params: model.namedParameters(), initRng: new Rng(1), shuffleState: new Rng(2).getState() }),
  };
}

/** A parsed copy of the good file to mutate (any shape: it stands for hostile input). */
const doc = (): any => JSON.parse(serializeWeights(goodFile()));

function failure(text: string): CheckpointError {
  try {
    readWeights(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).not.toMatch(/\n/);
    return err as CheckpointError;
  }
  throw new Error('readWeights accepted the document');
}

const mutated = (f: (d: any) => void) => {
  const d = doc();
  f(d);
  return failure(JSON.stringify(d)).message;
};

describe('readWeights: a good file', () => {
  it('loads what serializeWeights wrote, parameters and resume state included, exactly', () => {
    const f = goodFile();
    const { file, model } = readWeights(serializeWeights(f));
    expect(file.state).toEqual(JSON.parse(JSON.stringify(f.state)));
    expect(file.resume).toEqual(JSON.parse(JSON.stringify(f.resume)));
    expect(stateDict(model)).toEqual(JSON.parse(JSON.stringify(f.state)));
    expect(file.model.layers).toEqual(SPECS);
    expect(file.training).toEqual({ optimizer: 'adam', lr: 0.001, hidden: [1, 2] });
  });

  it('accepts specs written with PyTorch-style defaults left out and ints for pairs', () => {
    const d = doc();
    d.model.layers[0] = { type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: 3, padding: 'same' };
    d.model.layers[2] = { type: 'MaxPool2d', kernelSize: 2 };
    const { model } = readWeights(JSON.stringify(d));
    expect(model.outputShape([2, 1, 28, 28])).toEqual([2, 10]);
  });

  it('builds with a private RNG: loading leaves the global one alone', async () => {
    const { defaultRng, manualSeed } = await import('../../src/nn/init.ts');
    manualSeed(5);
    const before = defaultRng().getState();
    readWeights(serializeWeights(goodFile()));
    expect(defaultRng().getState()).toEqual(before);
  });
});

describe('readWeights: the layers added as descriptors', () => {
  it('stores AvgPool2d, LeakyReLU, Tanh and Sigmoid under PyTorch names and rebuilds the same model', () => {
    const arch = 'conv(4,3,padding=1) leakyrelu(0.1) avgpool(3,stride=2,padding=1,ceil=true) tanh avgpool(2,count_include_pad=false,divisor=3) sigmoid flatten linear(10)';
    const layers = parseArch(arch);
    const model = buildModel(layers, new Rng(5));
    const f: WeightsFile = { ...goodFile(), model: { name: 'arch', arch, layers }, state: stateDict(model), resume: undefined };
    const text = serializeWeights(f);
    expect(text).toContain('{"type":"AvgPool2d","kernelSize":[3,3],"stride":[2,2],"padding":[1,1],"ceilMode":true,"countIncludePad":true,"divisorOverride":null}');
    expect(text).toContain('{"type":"LeakyReLU","negativeSlope":0.1}');
    const back = readWeights(text);
    expect(back.file.model.layers).toEqual(layers);
    expect(formatArch(back.file.model.layers)).toBe(arch);
    const x = Tensor.from([2, 1, 28, 28], Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)));
    model.eval();
    back.model.eval();
    expect([...back.model.forward(x).data]).toEqual([...model.forward(x).data]);
  });

  it.each<[string, (d: any) => void, string | RegExp]>([
    ['a negative divisor', (d) => (d.model.layers[2].divisorOverride = -1), 'model.layers[2].divisorOverride: expected an int 1..1048576 or null, found -1'],
    ['a slope as a string', (d) => (d.model.layers[1].negativeSlope = '0.1'), 'model.layers[1].negativeSlope: expected a finite number, found "0.1"'],
    ['countIncludePad as a number', (d) => (d.model.layers[2].countIncludePad = 0), 'model.layers[2].countIncludePad: expected true or false, found 0'],
    ['a field Tanh does not have', (d) => (d.model.layers[3].inplace = true), /^model\.layers\[3\]\.inplace: unknown field/],
  ])('refuses %s', (_, mutate, expected) => {
    const layers = parseArch('conv(4,3,padding=1) leakyrelu(0.1) avgpool(2) tanh flatten linear(10)');
    const d = JSON.parse(serializeWeights({ ...goodFile(), model: { name: 'arch', layers }, state: stateDict(buildModel(layers, new Rng(1))), resume: undefined }));
    mutate(d);
    const msg = failure(JSON.stringify(d)).message;
    if (typeof expected === 'string') expect(msg).toBe(expected);
    else expect(msg).toMatch(expected);
  });
});

describe('readWeights: broken documents', () => {
  it.each<[string, string, RegExp]>([
    ['an empty text', '', /^the file is empty$/],
    ['white space only', ' \n\t', /^the file is empty$/],
    ['a truncated document', serializeWeights(goodFile()).slice(0, 500), /^not valid JSON \(/],
    ['a JSON list', '[1, 2, 3]', /^not a weights file: expected a JSON object, the file starts with "\[1, 2, 3\]"$/],
    ['a JSON string', '"weights"', /^not a weights file: expected a JSON object, the file starts with/],
    ['binary garbage', '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR', /^not a weights file: expected a JSON object, the file starts with bytes 89 50 4e 47 0d 0a 1a 0a \(binary data\?\)$/],
    ['garbage after a brace', '{\x00\x01\x02', /^not valid JSON \(.*\)$/],
  ])('refuses %s', (_, text, pattern) => {
    expect(failure(text).message).toMatch(pattern);
  });

  it('keeps the JSON parser\'s complaint on one line even when it quotes control characters', () => {
    const msg = failure('{"format": "mnist-ts-weights",\n\n "x": \x01\x02\r\n}').message;
    expect(msg).toMatch(/^not valid JSON \(/);
    expect(msg).not.toMatch(/[\x00-\x1f]/);
  });
});

describe('readWeights: fields checked one by one', () => {
  it.each<[string, (d: any) => void, string | RegExp]>([
    ['another format', (d) => (d.format = 'keras'), 'format: expected "mnist-ts-weights" (is this a weights file written by mnist-train?), found "keras"'],
    ['version 2', (d) => (d.version = 2), 'version: expected 1, found 2'],
    ['version as a string', (d) => (d.version = '1'), 'version: expected 1, found "1"'],
    ['an unknown top-level field', (d) => (d.payload = 'x'), /^payload: unknown field/],
    ['layer type "Evil"', (d) => (d.model.layers[1].type = 'Evil'), /^model\.layers\[1\]\.type: expected one of .*Linear.*, found "Evil"$/],
    ['a layer that is not an object', (d) => (d.model.layers[1] = 'ReLU'), /^model\.layers\[1\]: expected a layer object/],
    ['no layers', (d) => (d.model.layers = []), 'model.layers: expected a list of 1..256 layers, found []'],
    ['a negative kernel', (d) => (d.model.layers[0].kernelSize = -2), 'model.layers[0].kernelSize: expected an int 1..64 or [h, w], found -2'],
    ['a fractional kernel', (d) => (d.model.layers[0].kernelSize = [3, 2.5]), 'model.layers[0].kernelSize: expected an int 1..64 or [h, w], found [3, 2.5]'],
    ['a huge kernel', (d) => (d.model.layers[0].kernelSize = 65), 'model.layers[0].kernelSize: expected an int 1..64 or [h, w], found 65'],
    ['too many channels', (d) => (d.model.layers[0].outChannels = 1e9), 'model.layers[0].outChannels: expected an int 1..4096, found 1000000000'],
    ['channels as a string', (d) => (d.model.layers[0].inChannels = '1'), 'model.layers[0].inChannels: expected an int 1..4096, found "1"'],
    ['groups that do not divide', (d) => (d.model.layers[0].groups = 3), 'model.layers[0].groups: expected a divisor of inChannels 1 and outChannels 4, found 3'],
    ['padding "full"', (d) => (d.model.layers[0].padding = 'full'), 'model.layers[0].padding: expected an int 0..64, [h, w], "same" or "valid", found "full"'],
    ['pool padding past half the kernel', (d) => (d.model.layers[2].padding = 2), 'model.layers[2].padding: expected at most half the kernel size (2x2), found 2'],
    ['ceilMode as a number', (d) => (d.model.layers[2].ceilMode = 1), 'model.layers[2].ceilMode: expected true or false, found 1'],
    ['dropout p = 2', (d) => (d.model.layers[3].p = 2), 'model.layers[3].p: expected a number 0..1, found 2'],
    ['a flatten dim of 100', (d) => (d.model.layers[4].startDim = 100), 'model.layers[4].startDim: expected an int -8..8, found 100'],
    ['a negative feature count', (d) => (d.model.layers[5].outFeatures = -10), 'model.layers[5].outFeatures: expected an int 1..1048576, found -10'],
    ['an extra layer field', (d) => (d.model.layers[5].activation = 'relu'), /^model\.layers\[5\]\.activation: unknown field/],
    ['a model past 50M parameters', (d) => (d.model.layers[5] = { type: 'Linear', inFeatures: 1 << 20, outFeatures: 1 << 20 }), /^model\.layers\[5\]: Linear with weight \[1048576,1048576\] takes the model past 50,000,000 parameters/],
    ['input std 0', (d) => (d.input.std = 0), 'input.std: expected a number > 0, found 0'],
    ['input shape with a zero', (d) => (d.input.shape = [1, 0, 28]), 'input.shape[1]: expected an int 1..4096, found 0'],
    ['classes that are not strings', (d) => (d.classes[3] = 3), 'classes[3]: expected a string of at most 100 characters, found 3'],
    ['a metric that is not finite', (d) => (d.metrics[0].testLoss = 'NaN'), 'metrics[0].testLoss: expected a finite number >= 0, found "NaN"'],
    ['an accuracy above 1', (d) => (d.metrics[0].testAccuracy = 1.5), 'metrics[0].testAccuracy: expected a number 0..1, found 1.5'],
    ['training holding an object', (d) => (d.training.extra = { a: 1 }), 'training.extra: expected a number, string, boolean, null or a short list, found an object'],
    ['a tensor of the wrong shape', (d) => (d.state['0.weight'].shape = [4, 1, 3, 2]), 'state["0.weight"].shape: expected [4, 1, 3, 3] (from the model\'s layers), found [4, 1, 3, 2]'],
    ['a short tensor', (d) => d.state['5.bias'].data.pop(), 'state["5.bias"].data: expected 10 values for shape [10], found 9'],
    ['data that is a string', (d) => (d.state['5.bias'].data = 'AAAA'), 'state["5.bias"].data: expected a list of 10 numbers, found "AAAA"'],
    ['a string among the values', (d) => (d.state['5.weight'].data[17] = '0.5'), 'state["5.weight"].data[17]: expected a finite number, found "0.5"'],
    ['a null among the values', (d) => (d.state['5.weight'].data[0] = null), 'state["5.weight"].data[0]: expected a finite number, found null'],
    ['a missing tensor', (d) => delete d.state['0.bias'], 'state["0.bias"]: missing (the model\'s layers need a tensor [4])'],
    ['a tensor for no parameter', (d) => (d.state['3.weight'] = { shape: [1], data: [1] }), /^state\["3\.weight"\]: no such parameter in the model \(it has 0\.weight, 0\.bias, 5\.weight, 5\.bias\)$/],
    ['a tensor with an extra field', (d) => (d.state['0.bias'].dtype = 'float64'), /^state\["0\.bias"\]\.dtype: unknown field/],
    ['a broken resume state', (d) => (d.resume.optimizer.step = -1), /^resume\.optimizer\.step: expected an int 0\.\./],
    ['a layer the input does not fit', (d) => {
      d.model.layers[5] = { type: 'Linear', inFeatures: 100, outFeatures: 10 };
      d.state['5.weight'] = { shape: [10, 100], data: new Array(1000).fill(0) };
      d.resume.optimizer.buffers.exp_avg['5.weight'] = d.resume.optimizer.buffers.exp_avg_sq['5.weight'] = d.state['5.weight'];
    }, /^model\.layers\[5\]: Linear does not fit its input \[N, 784\]: /],
    ['classes that do not match the output', (d) => d.classes.push('x', 'y'), 'model.layers: the model outputs [N, 10], but classes lists 12 names (expected [N, 12])'],
    ['a Linear wider than the feature limit', (d) => (d.model.layers[5].inFeatures = 4096 * 64 * 64), 'model.layers[5].inFeatures: expected an int 1..1048576, found 16777216'],
  ])('refuses %s', (_, mutate, expected) => {
    const msg = mutated(mutate);
    if (typeof expected === 'string') expect(msg).toBe(expected);
    else expect(msg).toMatch(expected);
  });

  it('refuses a conv layer whose per-image output is past the activation limit, before any forward pass', () => {
    const d = doc();
    d.input.shape = [1, 64, 64];
    d.model.layers = [{ type: 'Conv2d', inChannels: 1, outChannels: 2048, kernelSize: 1 }, { type: 'MaxPool2d', kernelSize: 64 }, { type: 'Flatten' }, { type: 'Linear', inFeatures: 2048, outFeatures: 10 }];
    d.state = {
      '0.weight': { shape: [2048, 1, 1, 1], data: new Array(2048).fill(0.5) }, '0.bias': { shape: [2048], data: new Array(2048).fill(0) },
      '3.weight': { shape: [10, 2048], data: new Array(20480).fill(0) }, '3.bias': { shape: [10], data: new Array(10).fill(0) },
    };
    delete d.resume;
    expect(failure(JSON.stringify(d)).message).toBe('model.layers[0]: expected an output of at most 4194304 values per image, found "[N, 2048, 64, 64]"');
  });

  it('reads 1e999 as Infinity and refuses it; refuses doubles past float32 range', () => {
    const text = serializeWeights(goodFile());
    const [head, state] = text.split('"state": {');
    const edit = (v: string) => `${head}"state": {${state.replace(/("5\.bias": \{"shape":\[10\],"data":\[)[^,]+/, `$1${v}`)}`;
    expect(edit('1e999')).not.toBe(text);
    const inf = edit('1e999');
    expect(failure(inf).message).toBe('state["5.bias"].data[0]: expected a finite number, found Infinity (not a finite number)');
    const big = edit('3.5e38');
    expect(failure(big).message).toBe('state["5.bias"].data[0]: expected a number within float32 range, found 3.5e+38');
  });
});

describe('readWeights: hostile keys and nesting', () => {
  it.each([
    ['__proto__ in a layer', (t: string) => t.replace('{"type":"ReLU"}', '{"__proto__":{"polluted":true},"type":"ReLU"}'), 'model.layers[1].__proto__: the key "__proto__" is not allowed in a weights file'],
    ['__proto__ at the top', (t: string) => t.replace('{\n', '{"__proto__": {"polluted": true},\n'), '__proto__: the key "__proto__" is not allowed in a weights file'],
    ['constructor in the state', (t: string) => t.replace('"state": {', '"state": {"constructor": {"prototype": {"polluted": true}},'), 'state.constructor: the key "constructor" is not allowed in a weights file'],
    ['prototype in training', (t: string) => t.replace('"training": {', '"training": {"prototype":1,'), 'training.prototype: the key "prototype" is not allowed in a weights file'],
  ])('refuses %s without touching any prototype', (_, edit, expected) => {
    const text = edit(serializeWeights(goodFile()));
    expect(text).not.toBe(serializeWeights(goodFile()));
    expect(failure(text).message).toBe(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses nesting past 32 levels, even 100,000 deep, without a stack overflow', () => {
    const deep = (n: number) => `{"format":"mnist-ts-weights","training":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`;
    expect(() => parseUntrustedJson(deep(20))).not.toThrow();
    expect(failure(deep(40)).message).toMatch(/^training\.a(\[0\])+…?: nested deeper than 32 levels$/);
    expect(failure(deep(100_000)).message).toMatch(/nested deeper than 32 levels$/);
  });

  it('refuses them in an otherwise good file, where the one checking walk meets them', () => {
    const nested = (d: any) => (d.training.a = JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`));
    expect(mutated(nested)).toMatch(/^training\.a(\[0\])+…?: nested deeper than 32 levels$/);
    const buffer = (t: string) => t.replace('"buffers": {', '"buffers": {"constructor": {},');
    expect(failure(buffer(serializeWeights(goodFile()))).message).toBe('resume.optimizer.buffers.constructor: the key "constructor" is not allowed in a weights file');
    const metric = (t: string) => t.replace('{"epoch":1,', '{"__proto__":1,"epoch":1,');
    expect(failure(metric(serializeWeights(goodFile()))).message).toBe('metrics[0].__proto__: the key "__proto__" is not allowed in a weights file');
  });

  it('validateWeights returns fresh objects: nothing of the parsed document is passed through', () => {
    const d = doc();
    const f = validateWeights(d);
    expect(f.model.layers[0]).not.toBe(d.model.layers[0]);
    expect(f.model.layers[0]).toEqual(SPECS[0]);
    expect(f.state['0.bias']).not.toBe(d.state['0.bias']);
  });
});
