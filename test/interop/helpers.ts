// Shared by the interop tests: small models (trained for a few batches, so their predictions
// differ from image to image), MNIST test images, and running an exported graph in onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { Batcher, subset } from '../../src/data/batches.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { exportModelOf, type ExportModel } from '../../src/interop/onnx.ts';
import { argmaxRows } from '../../src/nn/loss.ts';
import { buildModel } from '../../src/nn/models.ts';
import { manualSeed } from '../../src/nn/init.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Adam } from '../../src/optim/adam.ts';
import { localStepper } from '../../src/train/train.ts';
import { mnistData, mnistTest } from '../data/image-fixtures.ts';

export const INPUT = { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 };
export const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** A random-init model: fine where only the arithmetic matters, not the predictions. */
export function modelFor(layers: LayerSpec[], seed = 1): { model: Sequential; exported: ExportModel } {
  const model = buildModel(layers, new Rng(seed)).eval();
  return { model, exported: exportModelOf({ model: { name: 'test', layers }, input: INPUT, classes: CLASSES }, model) };
}

/** A model trained with Adam for `batches` batches of 32 training images. */
export async function trainedModel(layers: LayerSpec[], batches: number, seed = 1): Promise<{ model: Sequential; exported: ExportModel }> {
  // dropout draws from the global RNG: seeded here, or the model would depend on which test
  // files ran before in the same process (they share it), and once predicted only 6 classes
  manualSeed(seed);
  const model = buildModel(layers, new Rng(seed));
  const data = await mnistData();
  const source = new Batcher(subset(data.train, batches * 32), { batchSize: 32, mean: INPUT.mean, std: INPUT.std });
  const stepper = localStepper(model, new Adam(model.parameters(), { lr: 3e-3 }));
  for (const { x, y } of source.epoch(new Rng(seed))) await stepper.step(x, y);
  model.eval();
  return { model, exported: exportModelOf({ model: { name: 'test', layers }, input: INPUT, classes: CLASSES }, model) };
}

/** The first n MNIST test images, normalised as the trainer does. */
export async function testImages(n: number): Promise<{ x: Float32Array; labels: Uint8Array }> {
  const split = await mnistTest();
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (split.images[i] / 255 - INPUT.mean) / INPUT.std;
  return { x, labels: split.labels.subarray(0, n) };
}

export async function runOnnx(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', x, shape) });
  return { data: out.output.data as Float32Array, dims: out.output.dims };
}

/**
 * Runs our model and ONNX Runtime on the same images: the largest logit difference, the
 * predictions that differ, and how many distinct classes we predicted (a check on the check).
 */
export async function compare(model: Sequential, bytes: Uint8Array, x: Float32Array, n: number): Promise<{ maxDiff: number; mismatches: number; classes: number }> {
  const ours = model.forward(new Tensor([n, 1, 28, 28], x));
  const theirs = await runOnnx(bytes, x, [n, 1, 28, 28]);
  expect(theirs.dims).toEqual(ours.shape);
  let maxDiff = 0;
  for (let i = 0; i < ours.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - theirs.data[i]));
  const a = argmaxRows(ours), b = argmaxRows(new Tensor(ours.shape, theirs.data));
  let mismatches = 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) mismatches++;
  return { maxDiff, mismatches, classes: new Set(a).size };
}

// stride, dilation, groups, 'same' padding (odd and even kernels) and ceilMode, twice: once where
// the modes agree (14 -> 7), once where PyTorch drops a last window that ONNX's ceil mode keeps
// (7 -> 4, where ONNX's shape rule says 5: a Linear after it would not even load)
export const EDGE_ARCH =
  'conv(16,3,stride=2,padding=1) relu conv(16,3,padding=same,dilation=2,groups=4) relu conv(16,2,padding=same) relu ' +
  'maxpool(3,stride=2,ceil=true) conv(16,3,padding=1,groups=2) relu maxpool(2,padding=1,ceil=true) flatten linear(32) relu dropout(0.3) linear(10)';
