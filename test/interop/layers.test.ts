// The per-layer table: the PyTorch constructors model.py writes (checked by hand against
// torch.nn's signatures), and the layer types it covers, those still to come included.
import { describe, expect, it } from 'vitest';
import { LAYERS, pyLiteral, torchConstructor } from '../../src/interop/layers.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { LAYERS as DESCRIPTORS } from '../../src/nn/layers.ts';

const layerTypes = () => DESCRIPTORS.map((d) => d.type);

describe('PyTorch constructors', () => {
  it('writes each --arch layer with torch.nn\'s keyword names', () => {
    const specs = parseArch('conv(8,3,padding=same,dilation=2,bias=false) relu maxpool(3,stride=2,ceil=true) flatten dropout(0.25) linear(10) logsoftmax');
    expect(specs.map((s, i) => torchConstructor(s, `model.layers[${i}]`))).toEqual([
      'nn.Conv2d(in_channels=1, out_channels=8, kernel_size=(3, 3), stride=(1, 1), padding="same", dilation=(2, 2), groups=1, bias=False)',
      'nn.ReLU()',
      'nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=True)',
      'nn.Flatten(start_dim=1, end_dim=-1)',
      'nn.Dropout(p=0.25)',
      // 28x28 -> ceil((28 - 3) / 2) + 1 = 14 under ceil mode: 8 * 14 * 14
      'nn.Linear(in_features=1568, out_features=10, bias=True)',
      'nn.LogSoftmax(dim=1)',
    ]);
  });

  it('writes the layers arriving with the layer descriptors', () => {
    expect(torchConstructor({ type: 'AvgPool2d', kernelSize: 2, stride: null, padding: 0, ceilMode: false, countIncludePad: true, divisorOverride: null }, 'l'))
      .toBe('nn.AvgPool2d(kernel_size=2, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)');
    expect(torchConstructor({ type: 'LeakyReLU', negativeSlope: 0.01 }, 'l')).toBe('nn.LeakyReLU(negative_slope=0.01)');
    expect(torchConstructor({ type: 'Tanh' }, 'l')).toBe('nn.Tanh()');
    expect(torchConstructor({ type: 'Sigmoid' }, 'l')).toBe('nn.Sigmoid()');
  });

  it('writes Python literals: tuples, None, booleans, a one-element tuple', () => {
    expect(pyLiteral([3])).toBe('(3,)');
    expect(pyLiteral([1, [2, 3]])).toBe('(1, (2, 3))');
    expect(pyLiteral(null)).toBe('None');
    expect(pyLiteral(1e-7)).toBe('1e-7');
    expect(pyLiteral('a"b')).toBe('"a\\"b"');
    expect(() => pyLiteral(Infinity)).toThrow(/Infinity/);
  });

  it('refuses an unknown layer in one line naming it', () => {
    expect(() => torchConstructor({ type: 'Mystery' }, 'model.layers[2]')).toThrow(/^model\.layers\[2\]: mnist-ts cannot write a Mystery layer to PyTorch yet$/);
  });

  it('has an entry for every registered layer type', () => {
    for (const t of layerTypes()) expect(Object.keys(LAYERS), t).toContain(t);
  });
});
