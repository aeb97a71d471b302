// summarize / formatSummary on the CNN preset (hand-counted parameters) and small hand-built models.
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/errors.ts';
import { cnnSpecs, parseArch } from '../../src/nn/arch.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { formatSummary, forwardMultiplies, layerRepr, summarize } from '../../src/nn/summary.ts';

describe('summarize', () => {
  it('counts the CNN preset layer by layer', () => {
    const s = summarize(buildModel(cnnSpecs()), [1, 28, 28]);
    // conv1 16*1*3*3 + 16; conv2 32*16*3*3 + 32; linear1 1568*128 + 128; linear2 128*10 + 10
    expect(s.rows.map((r) => r.params)).toEqual([160, 0, 0, 4640, 0, 0, 0, 200832, 0, 1290]);
    expect(s.totalParams).toBe(206922);
    expect(s.trainableParams).toBe(206922);
    expect(s.inputShape).toEqual([-1, 1, 28, 28]);
    expect(s.rows.map((r) => r.outputShape)).toEqual([
      [-1, 16, 28, 28], [-1, 16, 28, 28], [-1, 16, 14, 14],
      [-1, 32, 14, 14], [-1, 32, 14, 14], [-1, 32, 7, 7],
      [-1, 1568], [-1, 128], [-1, 128], [-1, 10],
    ]);
    expect(s.rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.rows.map((r) => r.name)).toEqual([
      'Conv2d(1, 16, kernel_size=3, padding=1)', 'ReLU()', 'MaxPool2d(kernel_size=2, stride=2)',
      'Conv2d(16, 32, kernel_size=3, padding=1)', 'ReLU()', 'MaxPool2d(kernel_size=2, stride=2)',
      'Flatten()', 'Linear(in_features=1568, out_features=128)', 'ReLU()', 'Linear(in_features=128, out_features=10)',
    ]);
  });

  it('counts grouped convolutions and layers without bias', () => {
    // conv: weight 8 * (4/2) * 3 * 2 = 96, no bias; linear: 8*27*14 -> 10 without bias
    const s = summarize(buildModel(parseArch('conv(8,3x2,groups=2,bias=false) flatten linear(10,bias=false)', [4, 29, 15])), [4, 29, 15]);
    expect(s.rows.map((r) => r.params)).toEqual([96, 0, 8 * 27 * 14 * 10]);
    expect(s.rows[0].name).toBe('Conv2d(4, 8, kernel_size=(3, 2), groups=2, bias=False)');
    expect(s.rows[0].outputShape).toEqual([-1, 8, 27, 14]);
  });

  it('throws the layer ShapeError when the input does not fit', () => {
    expect(() => summarize(buildModel(cnnSpecs()), [3, 28, 28])).toThrow(ShapeError);
  });
});

describe('layerRepr', () => {
  it('prints PyTorch-style names with non-default arguments only', () => {
    expect(layerRepr({ type: 'Conv2d', inChannels: 3, outChannels: 6, kernelSize: [5, 5], stride: [2, 1], padding: 'same', dilation: [2, 2], groups: 3, bias: true }))
      .toBe('Conv2d(3, 6, kernel_size=5, stride=(2, 1), padding=same, dilation=2, groups=3)');
    expect(layerRepr({ type: 'MaxPool2d', kernelSize: [3, 3], stride: [1, 1], padding: [1, 0], dilation: [1, 1], ceilMode: true }))
      .toBe('MaxPool2d(kernel_size=3, stride=1, padding=(1, 0), ceil_mode=True)');
    expect(layerRepr({ type: 'Dropout', p: 0.25 })).toBe('Dropout(p=0.25)');
    expect(layerRepr({ type: 'LogSoftmax', dim: 1 })).toBe('LogSoftmax(dim=1)');
    expect(layerRepr({ type: 'Flatten', startDim: 2, endDim: -1 })).toBe('Flatten(start_dim=2)');
  });
});

describe('formatSummary', () => {
  it('renders a torchsummary-like table with -1 batch dimensions and totals', () => {
    const text = formatSummary(summarize(buildModel(cnnSpecs()), [1, 28, 28]));
    const lines = text.split('\n');
    const conv1 = lines.find((l) => l.includes('Conv2d(1, 16'))!;
    expect(conv1).toMatch(/^0\s+Conv2d\(1, 16, kernel_size=3, padding=1\)\s+\[-1, 16, 28, 28\]\s+160$/);
    expect(lines.find((l) => l.includes('in_features=1568'))).toMatch(/\[-1, 128\]\s+200,832$/);
    expect(text).toContain('Total params: 206,922');
    expect(text).toContain('Trainable params: 206,922');
    expect(text).toContain('Non-trainable params: 0');
    expect(text).toContain('Input size: [-1, 1, 28, 28]');
    expect(text).toContain('Params size (MB): 0.79');
    // every table row is as wide as the rules
    const rule = lines[0].length;
    for (const l of lines.filter((l) => /^\d/.test(l))) expect(l.length).toBeLessThanOrEqual(rule);
  });
});

describe('forwardMultiplies', () => {
  it('counts each weight once per output position (worked by hand for the two presets)', () => {
    // 784·256 + 256·10
    expect(forwardMultiplies(buildModel(mlpSpecs([256])), [1, 28, 28])).toBe(203_264);
    // conv1 144·784, conv2 4608·196, fc1 1568·128, fc2 128·10
    expect(forwardMultiplies(buildModel(cnnSpecs()), [1, 28, 28])).toBe(112_896 + 903_168 + 200_704 + 1_280);
  });
});
