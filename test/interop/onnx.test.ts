// ONNX export checked by a real runtime: onnxruntime-node runs the exported graph on MNIST test
// images and must give our predictions exactly and our logits within 1e-4.
import { describe, expect, it } from 'vitest';
import { toOnnx, type ExportModel } from '../../src/interop/onnx.ts';
import { InteropError } from '../../src/interop/errors.ts';
import { CNN_ARCH, CNN_BN_ARCH, parseArch } from '../../src/nn/arch.ts';
import { mlpSpecs } from '../../src/nn/models.ts';
import { LAYERS } from '../../src/nn/layers.ts';

const layerTypes = () => LAYERS.map((d) => d.type);
import type { LayerSpec } from '../../src/nn/module.ts';
import { CLASSES, EDGE_ARCH, INPUT, compare, modelFor, testImages, trainedModel } from './helpers.ts';

describe('ONNX export run by onnxruntime-node', () => {
  // the fast suite's share: the MLP trained for a few batches on 1,000 images; the CNN and the
  // --arch model untrained on 100 (their logits still differ image by image, their predictions
  // barely). onnx.slow.test.ts runs all three trained, on 1,000 images, predicting every digit.
  it('the default MLP: our predictions on 1,000 MNIST test images, logits within 1e-4', async () => {
    const { model, exported } = await trainedModel(mlpSpecs([128]), 20);
    const { x } = await testImages(1000);
    const r = await compare(model, toOnnx(exported), x, 1000);
    expect(r.mismatches).toBe(0);
    expect(r.maxDiff).toBeLessThan(1e-4);
    // a model that predicts one class everywhere would make the prediction check empty
    expect(r.classes).toBeGreaterThan(5);
  });

  for (const [name, arch] of [['the default CNN', CNN_ARCH], ['an --arch model with stride, dilation, groups, same padding and ceilMode', EDGE_ARCH]]) {
    it(`${name} (untrained): our logits on 100 MNIST test images within 1e-4`, async () => {
      const { model, exported } = modelFor(parseArch(arch));
      const { x } = await testImages(100);
      const r = await compare(model, toOnnx(exported), x, 100);
      expect(r.mismatches).toBe(0);
      expect(r.maxDiff).toBeLessThan(1e-4);
    });
  }

  // the layers arriving with the layer descriptors (branch i12-seams): run once they are registered
  const pooling = layerTypes().includes('AvgPool2d');
  for (const arch of [
    'avgpool(2) conv(8,3) leakyrelu(0.2) avgpool(3,stride=2,padding=1) tanh flatten linear(10) sigmoid',
    'avgpool(3,stride=2,padding=1,ceil=true) conv(8,3) relu avgpool(2,ceil=true) flatten linear(10)',
    // 7x7 -> 4x4 under PyTorch's ceil mode: written as extra uncounted end padding
    'maxpool(4) avgpool(2,padding=1,ceil=true,count_include_pad=false) flatten linear(10)',
  ]) {
    it.skipIf(!pooling)(`AvgPool2d, LeakyReLU, Tanh, Sigmoid: ${arch}`, async () => {
      const { model, exported } = modelFor(parseArch(arch));
      const { x } = await testImages(50);
      const r = await compare(model, toOnnx(exported), x, 50);
      expect(r.mismatches).toBe(0);
      expect(r.maxDiff).toBeLessThan(1e-4);
    });
  }
  it.skipIf(!pooling)('refuses AvgPool2d whose ceil mode drops a window while counting the padding', () => {
    const { exported } = modelFor(parseArch('maxpool(4) avgpool(2,padding=1,ceil=true) flatten linear(10)'));
    expect(() => toOnnx(exported)).toThrow(/^model\.layers\[1\]: AvgPool2d with ceilMode and countIncludePad on a 7x7 input has no ONNX form/);
  });

  it('the batch dimension is symbolic: one graph runs batches of 1 and 7', async () => {
    const { model, exported } = modelFor(parseArch('conv(4,3) relu maxpool(2) flatten linear(10)'));
    const bytes = toOnnx(exported);
    const { x } = await testImages(7);
    for (const n of [1, 7]) {
      const r = await compare(model, bytes, x.subarray(0, n * 784), n);
      expect(r.maxDiff).toBeLessThan(1e-5);
    }
  });

  it('writes the layers a --arch cannot express: Linear over 4-D input, Flatten of inner dims, softmax over dim 1, a trailing Dropout', async () => {
    const layers: LayerSpec[] = [
      { type: 'Conv2d', inChannels: 1, outChannels: 3, kernelSize: 5, stride: 3, padding: [2, 1], bias: false },
      { type: 'Linear', inFeatures: 9, outFeatures: 4, bias: true }, // over the last dim of [N, 3, 10, 9]
      { type: 'Flatten', startDim: 2, endDim: 3 }, // [N, 3, 40]
      { type: 'Linear', inFeatures: 40, outFeatures: 2, bias: false },
      { type: 'Flatten', startDim: 1, endDim: -1 },
      { type: 'LogSoftmax', dim: 1 },
      { type: 'Dropout', p: 0.5 },
    ];
    const { model, exported } = modelFor(layers);
    const { x } = await testImages(5);
    const r = await compare(model, toOnnx(exported), x, 5);
    expect(r.maxDiff).toBeLessThan(1e-5);
  });

  it('carries the normalisation, classes and layers as metadata, with opset 13', () => {
    const { exported } = modelFor(mlpSpecs([16]));
    const text = Buffer.from(toOnnx(exported)).toString('latin1');
    for (const s of ['mnist_ts.layers', '"mean":0.1307', 'normalization', 'input = (pixel / 255 - 0.1307) / 0.3081', 'mnist_ts.classes']) expect(text).toContain(s);
  });

  it('refuses a layer type it has no ONNX form for, in one line naming it', () => {
    const { exported } = modelFor(mlpSpecs([16]));
    const bad = { ...exported, layers: [...exported.layers.slice(0, 1), { type: 'Mystery' }, ...exported.layers.slice(1)], shapes: [exported.shapes[0], ...exported.shapes] };
    expect(() => toOnnx(bad)).toThrow(InteropError);
    expect(() => toOnnx(bad)).toThrow(/model\.layers\[1\]: mnist-ts cannot write a Mystery layer to ONNX/);
  });

  it('refuses AvgPool2d with divisorOverride (no faithful ONNX form)', () => {
    const exported: ExportModel = {
      name: 't', layers: [{ type: 'AvgPool2d', kernelSize: 2, stride: null, padding: 0, ceilMode: false, countIncludePad: true, divisorOverride: 3 }, { type: 'Flatten' }],
      shapes: [[1, 1, 14, 14], [1, 196]], input: INPUT, classes: CLASSES, params: [],
    };
    expect(() => toOnnx(exported)).toThrow(/model\.layers\[0\]: AvgPool2d with divisorOverride 3 has no ONNX form/);
  });
});

describe('BatchNorm2d and BatchNorm1d as ONNX BatchNormalization', () => {
  /** The largest |running_var - 1| and |running_mean| the export carries: 0 for untouched statistics. */
  const statsMoved = (e: ExportModel) =>
    Math.max(...e.params.filter((p) => /running_(mean|var)$/.test(p.key)).map((p) => Math.max(...Array.from(p.data, (v) => Math.abs(p.key.endsWith('var') ? v - 1 : v)))));

  it('the cnn-bn preset trained for 10 batches: running statistics in the graph, our eval-mode logits within 1e-4', async () => {
    const { model, exported } = await trainedModel(parseArch(CNN_BN_ARCH), 10);
    expect(exported.params.map((p) => p.key)).toContain('10.running_var');
    expect(exported.params.map((p) => p.key)).not.toContain('1.num_batches_tracked');
    // running statistics still at their initial 0 and 1 would make the check blind to them
    expect(statsMoved(exported)).toBeGreaterThan(0.1);
    const { x } = await testImages(200);
    const r = await compare(model, toOnnx(exported), x, 200);
    expect(r.mismatches).toBe(0);
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.classes).toBeGreaterThan(5);
  });

  it('without affine (scale 1, bias 0) and with eps and momentum of its own', async () => {
    const arch = 'conv(8,3) batchnorm(affine=false,eps=0.01,momentum=0.3) relu maxpool(2) flatten linear(32) batchnorm1d(affine=false,eps=0.5) relu linear(10)';
    const { model, exported } = await trainedModel(parseArch(arch), 10);
    expect(statsMoved(exported)).toBeGreaterThan(0.1);
    const { x } = await testImages(100);
    const r = await compare(model, toOnnx(exported), x, 100);
    expect(r.mismatches).toBe(0);
    expect(r.maxDiff).toBeLessThan(1e-4);
  });

  it('without running statistics: normalised by the batch\'s own in the graph too, as PyTorch does in eval()', async () => {
    const arch = 'conv(8,3) batchnorm(track=false) relu maxpool(2) flatten linear(32) batchnorm1d(track=false) relu linear(10)';
    const { model, exported } = await trainedModel(parseArch(arch), 10);
    const bytes = toOnnx(exported);
    const { x } = await testImages(60);
    // each image's logits depend on the rest of its batch: two batch sizes, one graph
    for (const n of [60, 7]) {
      const r = await compare(model, bytes, x.subarray(0, n * 784), n);
      expect(r.maxDiff).toBeLessThan(1e-4);
    }
  });
});
