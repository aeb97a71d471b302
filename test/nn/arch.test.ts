// The --arch grammar: specs and shapes for good strings, caret-pointing errors for bad ones, and
// the formatArch round trip.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/engine/errors.ts';
import { ARCH_PRESETS, ArchError, CNN_ARCH, cnnSpecs, formatArch, parseArch, parseArchLayers } from '../../src/nn/arch.ts';
import { defaultRng } from '../../src/nn/init.ts';
import { buildModel, parameterCount } from '../../src/nn/models.ts';

const EXAMPLE = 'conv(32,3,padding=1) relu maxpool(2) conv(64,3) relu maxpool(2) flatten linear(128) relu dropout(0.5) linear(10)';

describe('parseArch', () => {
  it('turns the example into layer specs with inferred input sizes', () => {
    expect(parseArch(EXAMPLE)).toEqual([
      { type: 'Conv2d', inChannels: 1, outChannels: 32, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
      { type: 'ReLU' },
      { type: 'MaxPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
      { type: 'Conv2d', inChannels: 32, outChannels: 64, kernelSize: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true },
      { type: 'ReLU' },
      { type: 'MaxPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
      { type: 'Flatten', startDim: 1, endDim: -1 },
      { type: 'Linear', inFeatures: 64 * 6 * 6, outFeatures: 128, bias: true },
      { type: 'ReLU' },
      { type: 'Dropout', p: 0.5 },
      { type: 'Linear', inFeatures: 128, outFeatures: 10, bias: true },
    ]);
  });

  it('reports each layer output shape: 28 -> 28 -> 14 -> 12 -> 6 -> 2304 -> 128 -> 10', () => {
    const layers = parseArchLayers(EXAMPLE);
    expect(layers.map((l) => l.outputShape)).toEqual([
      [32, 28, 28], [32, 28, 28], [32, 14, 14], [64, 12, 12], [64, 12, 12], [64, 6, 6], [2304], [128], [128], [128], [10],
    ]);
    expect(layers.map((l) => l.source)).toEqual(EXAMPLE.split(' '));
  });

  it('gives specs the layers themselves reproduce, and a model mapping [N, 1, 28, 28] to [N, 10]', () => {
    const specs = parseArch(EXAMPLE);
    const model = buildModel(specs);
    expect(model.outputShape([5, 1, 28, 28])).toEqual([5, 10]);
    expect((model.spec().layers as unknown[])).toEqual(specs);
  });

  it('has the CNN preset', () => {
    expect(cnnSpecs()).toEqual(parseArch(CNN_ARCH));
    expect(buildModel(cnnSpecs()).outputShape([2, 1, 28, 28])).toEqual([2, 10]);
    expect(cnnSpecs().filter((s) => s.type === 'Linear').map((s) => s.inFeatures)).toEqual([32 * 7 * 7, 128]);
  });

  it('has the cnn-bn preset: the cnn with a batchnorm after each conv and the hidden linear layer', () => {
    const specs = parseArch(ARCH_PRESETS['cnn-bn']);
    expect(specs.map((s) => s.type)).toEqual(['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']);
    expect(specs.filter((s) => s.type.startsWith('BatchNorm')).map((s) => s.numFeatures)).toEqual([16, 32, 128]);
    // the cnn's 206,922 and 2 per batch-normalised feature
    expect(parameterCount(buildModel(specs))).toBe(206_922 + 2 * (16 + 32 + 128));
    expect(ARCH_PRESETS.cnn).toBe(CNN_ARCH);
  });

  it('has the cnn-bn-wide preset: cnn-bn with 32 and 64 channels', () => {
    const specs = parseArch(ARCH_PRESETS['cnn-bn-wide']);
    expect(specs.map((s) => s.type)).toEqual(parseArch(ARCH_PRESETS['cnn-bn']).map((s) => s.type));
    expect(specs.filter((s) => s.type === 'Conv2d').map((s) => [s.inChannels, s.outChannels])).toEqual([[1, 32], [32, 64]]);
    // conv 1·32·9 + 32 and 32·64·9 + 64, batchnorms 2·(32 + 64 + 128), linear 3136·128 + 128 and 128·10 + 10
    expect(parameterCount(buildModel(specs))).toBe(320 + 18_496 + 448 + 401_536 + 1_290);
  });

  it('accepts commas or spaces between layers, and empty parentheses', () => {
    const a = parseArch('conv(8,3), relu(),flatten , linear(10)');
    expect(a).toEqual(parseArch('conv(8, 3) relu flatten linear(10)'));
    expect(a.map((s) => s.type)).toEqual(['Conv2d', 'ReLU', 'Flatten', 'Linear']);
  });

  it('reads HxW pairs, same/valid padding, keywords and positional names', () => {
    const [conv, pool, conv2] = parseArch('conv(out=6, kernel=5x3, stride=2x1, padding=2x1, dilation=1, groups=1, bias=false) maxpool(3, stride=1, padding=1, ceil=true) conv(4,3,padding=same,dilation=2) conv(4,3,padding=valid) flatten linear(10)');
    expect(conv).toEqual({ type: 'Conv2d', inChannels: 1, outChannels: 6, kernelSize: [5, 3], stride: [2, 1], padding: [2, 1], dilation: [1, 1], groups: 1, bias: false });
    expect(pool).toEqual({ type: 'MaxPool2d', kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], ceilMode: true });
    expect(conv2).toMatchObject({ inChannels: 6, padding: 'same', dilation: [2, 2] });
    const shapes = parseArchLayers('conv(6,5x3,stride=2x1,padding=2x1) maxpool(3,stride=1,padding=1,ceil=true) conv(4,3,padding=same,dilation=2) conv(4,3,padding=valid) flatten linear(10)').map((l) => l.outputShape);
    // H: (28+4-5)/2+1 = 14, W: 28+2-3+1 = 28; pool k3 s1 p1 keeps 14x28; same keeps it; valid: 12x26
    expect(shapes.slice(0, 5)).toEqual([[6, 14, 28], [6, 14, 28], [4, 14, 28], [4, 12, 26], [4 * 12 * 26]]);
  });

  it('takes the input shape and the class count as parameters', () => {
    const specs = parseArch('conv(6,5) maxpool(2) flatten linear(3) logsoftmax', [3, 32, 32], 3);
    expect(specs[0]).toMatchObject({ inChannels: 3, outChannels: 6 });
    expect(specs[3]).toMatchObject({ inFeatures: 6 * 14 * 14, outFeatures: 3 });
    expect(specs[4]).toEqual({ type: 'LogSoftmax', dim: 1 });
    expect(parseArch('linear(64) relu linear(10) softmax', [784])).toHaveLength(4);
  });

  it('reads the pooling and activation layers added as descriptors', () => {
    const [c, pool, leaky, tanh, pool2, sig] = parseArch('conv(4,3) avgpool(3,stride=2,padding=1,ceil=true) leakyrelu(0.1) tanh avgpool(2) sigmoid flatten linear(10)');
    expect(c.type).toBe('Conv2d');
    expect(pool).toEqual({ type: 'AvgPool2d', kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true, countIncludePad: true, divisorOverride: null });
    expect(leaky).toEqual({ type: 'LeakyReLU', negativeSlope: 0.1 });
    expect(tanh).toEqual({ type: 'Tanh' });
    expect(pool2).toMatchObject({ type: 'AvgPool2d', kernelSize: [2, 2], stride: [2, 2] });
    expect(sig).toEqual({ type: 'Sigmoid' });
    expect(parseArch('avgpool(2,count_include_pad=false,divisor=3) flatten linear(10)')[0]).toMatchObject({ countIncludePad: false, divisorOverride: 3 });
    expect(parseArch('leakyrelu flatten linear(10)')[0]).toEqual({ type: 'LeakyReLU', negativeSlope: 0.01 });
    // 26 -> ceil((26 + 2 - 3) / 2) + 1 = 14 -> 7
    expect(parseArchLayers('conv(4,3) avgpool(3,stride=2,padding=1,ceil=true) avgpool(2) flatten linear(10)').map((l) => l.outputShape)[2]).toEqual([4, 7, 7]);
  });

  it('leaves the global initialisation RNG untouched', () => {
    const before = defaultRng().getState();
    parseArch(EXAMPLE);
    expect(defaultRng().getState()).toEqual(before);
  });
});

/** Parses `spec`, expecting an ArchError; checks it points at `token` on one line and returns the error. */
function archError(spec: string, token: string, opts: { inputShape?: number[]; classes?: number; nth?: number } = {}): ArchError {
  let err: unknown;
  try {
    parseArch(spec, opts.inputShape, opts.classes);
  } catch (e) {
    err = e;
  }
  expect(err, `parseArch(${JSON.stringify(spec)}) should throw`).toBeInstanceOf(ArchError);
  const e = err as ArchError;
  expect(e).toBeInstanceOf(ConfigError);
  // the token's position: the nth occurrence in the spec
  let at = -1;
  for (let k = 0; k <= (opts.nth ?? 0); k++) at = spec.indexOf(token, at + 1);
  expect(at, `token ${token} in ${spec}`).toBeGreaterThanOrEqual(0);
  expect(e.column).toBe(at + 1);
  expect(e.message).toContain(`at column ${at + 1} (${JSON.stringify(token)})`);
  expect(e.message).not.toContain('\n');
  return e;
}

describe('parseArch errors point at the token and say how to fix it', () => {
  it('unknown layer name', () => {
    const e = archError('conw(32,3) relu flatten linear(10)', 'conw');
    expect(e.message).toBe('--arch: unknown layer "conw" at column 1 ("conw")');
    expect(e.hint).toContain('did you mean "conv"?');
    expect(e.hint).toContain('known layers: conv, maxpool, linear, dropout, relu, flatten, softmax, logsoftmax');
    expect(archError('flatten dense(10)', 'dense').hint).not.toContain('did you mean');
    expect(archError('avgpol(2) flatten linear(10)', 'avgpol').hint).toContain('did you mean "avgpool"?');
    expect(archError('avgpool(2,padding=2) flatten linear(10)', '2', { nth: 1 }).message).toContain('padding of avgpool must be at most half the kernel size (2x2), got 2');
    expect(archError('leakyrelu(slope=x) flatten linear(10)', 'x').message).toContain('slope of leakyrelu must be a finite number, got x');
    expect(archError('flatten avgpool(2) linear(10)', 'avgpool').message).toContain('avgpool needs an image input [C, H, W]');
  });

  it('bad or missing argument', () => {
    expect(archError('conv(a,3) flatten linear(10)', 'a').message).toContain('out of conv must be a positive integer, got a');
    expect(archError('conv(8,0) flatten linear(10)', '0').message).toContain('kernel of conv must be a positive integer or HxW of them, got 0');
    expect(archError('flatten linear(2.5)', '2.5').message).toContain('out of linear must be a positive integer, got 2.5');
    expect(archError('flatten dropout(1.5) linear(10)', '1.5').message).toContain('p of dropout must be a probability between 0 and 1');
    expect(archError('conv(8,3,bias=yes) flatten linear(10)', 'yes').message).toContain('bias of conv must be true or false');
    expect(archError('conv(8,3,padding=-1) flatten linear(10)', '-1').message).toContain('padding of conv must be a non-negative integer');
    expect(archError('conv(8,3,padding=full) flatten linear(10)', 'full').message).toContain('same or valid, got full');
    const missing = archError('conv(8) flatten linear(10)', 'conv(8)');
    expect(missing.message).toContain('conv is missing its kernel argument');
    expect(missing.hint).toContain('usage: conv(out, kernel,');
    expect(archError('maxpool flatten linear(10)', 'maxpool').message).toContain('maxpool is missing its kernel argument');
    expect(archError('flatten linear(10,3)', '3').message).toContain('linear takes at most 1 positional argument, got another: 3');
    expect(archError('relu(2) flatten linear(10)', '2').message).toContain('relu takes no positional arguments');
    expect(archError('conv(8,kernel=3,1) flatten linear(10)', '1').message).toContain('positional argument after a keyword argument');
    expect(archError('conv(8,3,stride=1,stride=2) flatten linear(10)', 'stride', { nth: 1 }).message).toContain('stride given twice in conv');
    expect(archError('conv(8,3,padding=) flatten linear(10)', 'padding').message).toContain('missing value for padding= in conv');
    expect(archError('conv(8,3,padding=(1,1)) flatten linear(10)', '(', { nth: 1 }).hint).toContain('HxW');
    expect(archError('flatten % linear(10)', '%').message).toContain('unexpected "%"');
  });

  it('unknown keyword', () => {
    const e = archError('conv(8,3,strid=2) flatten linear(10)', 'strid');
    expect(e.message).toContain('unknown keyword "strid" for conv (did you mean "stride"?)');
    expect(e.hint).toContain('stride=1, padding=0|same|valid, dilation=1, groups=1, bias=true');
    expect(archError('maxpool(2,ceil_mode=true) flatten linear(10)', 'ceil_mode').message).toContain('(did you mean "ceil"?)');
  });

  it('unbalanced parenthesis', () => {
    const open = archError('conv(8,3 relu flatten linear(10)', '(');
    expect(open.message).toContain('unbalanced parenthesis: "(" after conv is not closed before "relu"');
    expect(open.hint).toContain('close it');
    expect(archError('flatten linear(10', '(').message).toContain('"(" after linear is never closed');
    expect(archError('flatten) linear(10)', ')').message).toContain('")" without a matching "("');
    expect(archError('conv(8,3)) flatten linear(10)', ')', { nth: 1 }).message).toContain('unbalanced parenthesis');
  });

  it('linear after a 4-D output without flatten', () => {
    const e = archError('conv(8,3) linear(10)', 'linear');
    expect(e.message).toContain('a flatten is missing before linear: its input is [N, 8, 26, 26]');
    expect(e.hint).toBe('insert flatten before linear(10)');
  });

  it('conv or maxpool after flatten', () => {
    const e = archError('flatten conv(8,3) linear(10)', 'conv');
    expect(e.message).toContain('conv needs an image input [C, H, W], but the input here is [N, 784]');
  });

  it('groups not dividing the channels', () => {
    const e = archError('conv(8,3,groups=3)', '3', { nth: 1 });
    expect(e.message).toContain('groups of conv must be a divisor of inChannels 1 and outChannels 8, got 3');
    expect(e.hint).toContain('groups must divide both the input channels (1) and the output channels (8)');
    expect(archError('conv(4,3) conv(6,3,groups=4) flatten linear(10)', '4', { nth: 1 }).message).toContain('a divisor of inChannels 4 and outChannels 6');
  });

  it('kernel larger than its input', () => {
    const e = archError('conv(8,5) maxpool(2) conv(8,5) maxpool(2) conv(8,5) flatten linear(10)', '5', { nth: 2 });
    expect(e.message).toContain('conv does not fit here: Conv2d: kernel 5x5 (dilation 1) is larger than the padded input 4x4');
    expect(e.hint).toContain('smaller kernel');
    expect(archError('conv(8,3,dilation=15) flatten linear(10)', '3').message).toContain('kernel 3x3 (dilation 15) is larger than the padded input 28x28');
    expect(archError('maxpool(29) flatten linear(10)', '29').message).toContain('maxpool does not fit here: MaxPool2d: kernel 29x29 (dilation 1) is larger than the padded input 28x28');
    // padding lets the window fit, as in PyTorch
    expect(parseArchLayers('conv(8,29,padding=1) flatten linear(10)')[0].outputShape).toEqual([8, 2, 2]);
  });

  it('padding=same with a stride, and maxpool padding above half the kernel', () => {
    expect(archError('conv(8,3,stride=2,padding=same) flatten linear(10)', 'same').message).toContain("padding of conv must be a number when the stride is 2 ('same' needs stride 1, as in PyTorch), got same");
    expect(archError('maxpool(2,padding=2) flatten linear(10)', '2', { nth: 1 }).message).toContain('padding of maxpool must be at most half the kernel size (2x2), got 2');
  });

  it('a model whose output is not [N, classes]', () => {
    const e = archError('conv(8,3) relu flatten linear(128)', 'linear(128)');
    expect(e.message).toContain("the model's output is [N, 128], but it must be [N, 10] (one score per class)");
    expect(e.hint).toBe('end with linear(10)');
    expect(archError('conv(8,3) relu', 'relu').hint).toBe('end with flatten linear(10)');
    expect(archError('flatten linear(10)', 'linear(10)', { classes: 3 }).message).toContain('must be [N, 3]');
  });

  it('an empty spec', () => {
    expect(() => parseArch('  ')).toThrow(/no layers given/);
    expect(() => parseArch(',')).toThrow(ArchError);
  });
});

describe('formatArch', () => {
  const specs = [
    CNN_ARCH,
    EXAMPLE,
    'conv(6,5x3,stride=2x1,padding=2x1,dilation=1,bias=false) maxpool(3,stride=1,padding=1,ceil=true) conv(4,3,padding=same,dilation=2) conv(4,3,padding=valid,groups=2) flatten linear(10,bias=false) logsoftmax',
    'maxpool(2x3,stride=1x2,dilation=2) conv(2,1) flatten dropout(0.25) linear(10) softmax',
    'conv(4,3) leakyrelu(-0.5) avgpool(3,stride=2,padding=1,ceil=true) tanh avgpool(2x1,count_include_pad=false,divisor=2) sigmoid flatten linear(10)',
  ];
  for (const s of specs) {
    it(`round-trips ${s.slice(0, 40)}...`, () => {
      const parsed = parseArch(s);
      const text = formatArch(parsed);
      expect(parseArch(text)).toEqual(parsed);
    });
  }

  it('writes the canonical short form', () => {
    expect(formatArch(parseArch(CNN_ARCH))).toBe(CNN_ARCH);
    expect(formatArch(parseArch('conv( 8 , 3 , stride = 1 , padding = 0x0 ) , relu , flatten , linear( 10 , bias = true )'))).toBe('conv(8,3) relu flatten linear(10)');
  });

  it('rejects specs the grammar cannot express', () => {
    expect(() => formatArch([{ type: 'Flatten', startDim: 2, endDim: -1 }])).toThrow(/formatArch: layer .* has no --arch form/);
    expect(() => formatArch([{ type: 'Swish' }])).toThrow(ConfigError);
  });
});
