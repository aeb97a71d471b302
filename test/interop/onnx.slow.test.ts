// The ONNX acceptance runs: the default MLP, the default CNN and an --arch model using stride,
// dilation, groups, 'same' padding and ceilMode, each trained for a few dozen batches, exported,
// and run by onnxruntime-node on 1,000 MNIST test images: our predictions exactly, logits within 1e-4.
import { describe, expect, it } from 'vitest';
import { toOnnx } from '../../src/interop/onnx.ts';
import { CNN_ARCH, parseArch } from '../../src/nn/arch.ts';
import { mlpSpecs } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import { EDGE_ARCH, compare, testImages, trainedModel } from './helpers.ts';

describe('ONNX export of trained models, 1,000 images each', () => {
  const cases: [string, () => LayerSpec[]][] = [
    ['the default MLP', () => mlpSpecs([128])],
    ['the default CNN', () => parseArch(CNN_ARCH)],
    ['an --arch model with stride, dilation, groups, same padding and ceilMode', () => parseArch(EDGE_ARCH)],
  ];
  for (const [name, specs] of cases) {
    it(`${name}: our predictions exactly, logits within 1e-4`, async () => {
      const { model, exported } = await trainedModel(specs(), 60);
      const { x } = await testImages(1000);
      const r = await compare(model, toOnnx(exported), x, 1000);
      expect(r.mismatches).toBe(0);
      expect(r.maxDiff).toBeLessThan(1e-4);
      // a model that predicts few classes would leave most of the prediction check empty
      expect(r.classes).toBeGreaterThanOrEqual(8);
    }, 180_000);
  }
});
