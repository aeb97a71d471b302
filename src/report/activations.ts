// What a model does to one image, as plain data: every layer's output, the logits, softmax
// probabilities, the first conv layer's kernels and an MLP's first-layer weight templates.
// Pure computation; the pages in explain-page.ts render it.
import { ShapeError } from '../engine/errors.ts';
import { fmtShape, type Tensor } from '../engine/tensor.ts';
import type { Module } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';
import { parameterCount } from '../nn/models.ts';
import { layerRepr } from '../nn/summary.ts';

export interface LayerTrace {
  /** Position in the Sequential, so `${index}.weight` is the state_dict key. */
  index: number;
  type: string;
  /** PyTorch-style repr as `--summary` prints it (nn/summary.ts), e.g. "Conv2d(1, 8, kernel_size=3, padding=1)". */
  name: string;
  /** Output shape without the batch dimension, e.g. [8, 28, 28] or [256]. */
  outputShape: number[];
  params: number;
  values: Float32Array;
}

/** A layer's weights shown as pictures: conv kernels [out, in, kH, kW] or Linear rows as [out, 1, H, W]. */
export interface WeightImages {
  layerIndex: number;
  name: string;
  shape: [number, number, number, number];
  values: Float32Array;
}

export interface Explanation {
  /** The normalised input the model saw, without the batch dimension ([1, 28, 28]). */
  input: { shape: number[]; values: Float32Array };
  layers: LayerTrace[];
  logits: Float32Array;
  probs: Float32Array;
  predicted: number;
  /** The first Conv2d's kernels, when the model has one. */
  kernels?: WeightImages;
  /** The first Linear's rows reshaped to the input image, when only Flatten precedes it (an MLP). */
  templates?: WeightImages;
}

/**
 * Runs one image x: [1, C, H, W] through the model in eval mode and collects every layer's
 * output. The model's last layer must produce [1, classes] logits.
 */
export function explain(model: Sequential, x: Tensor): Explanation {
  if (x.rank < 2 || x.shape[0] !== 1) {
    throw new ShapeError(`explain: input must be one image [1, C, H, W], but got ${fmtShape(x.shape)}`);
  }
  if (model.layers.length === 0) throw new ShapeError('explain: the model has no layers');
  const wasTraining = model.training;
  model.eval();
  let outs: Tensor[];
  try {
    outs = model.forwardTrace(x);
  } finally {
    model.train(wasTraining);
  }
  const layers = model.layers.map((l, i): LayerTrace => ({
    index: i,
    type: l.type,
    name: layerRepr(l.spec()),
    outputShape: outs[i].shape.slice(1),
    params: parameterCount(l),
    values: outs[i].data,
  }));
  // A trailing Softmax already gives probabilities (its input holds the logits); LogSoftmax's
  // output differs from the logits by a constant per row, so softmax of it is the same.
  const endsInSoftmax = model.layers[model.layers.length - 1].type === 'Softmax' && outs.length > 1;
  const last = outs[outs.length - (endsInSoftmax ? 2 : 1)];
  if (last.rank !== 2) {
    throw new ShapeError(`explain: the model must end in [1, classes] logits, but its output is ${fmtShape(last.shape)}`);
  }
  const logits = last.data.slice();
  const probs = endsInSoftmax ? outs[outs.length - 1].data.slice() : softmax(logits);
  return {
    input: { shape: x.shape.slice(1), values: x.data.slice() },
    layers,
    logits,
    probs,
    predicted: argmax(logits),
    kernels: firstConvKernels(model),
    templates: firstLinearTemplates(model, x.shape.slice(1)),
  };
}

/** softmax(v) in float64, subtracting the max so large logits stay finite. */
export function softmax(v: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] > max) max = v[i];
  const e = new Float64Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += e[i] = Math.exp(v[i] - max);
  return Float32Array.from(e, (x) => x / sum);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function weightOf(l: Module): Tensor | undefined {
  return l.parameters().find((p) => p.name === 'weight')?.value;
}

function firstConvKernels(model: Sequential): WeightImages | undefined {
  const i = model.layers.findIndex((l) => l.type === 'Conv2d');
  const w = i >= 0 ? weightOf(model.layers[i]) : undefined;
  if (!w || w.rank !== 4) return undefined;
  const [o, c, kh, kw] = w.shape;
  return { layerIndex: i, name: layerRepr(model.layers[i].spec()), shape: [o, c, kh, kw], values: w.data.slice() };
}

function firstLinearTemplates(model: Sequential, inShape: number[]): WeightImages | undefined {
  const i = model.layers.findIndex((l) => l.type === 'Linear');
  if (i < 0 || !model.layers.slice(0, i).every((l) => l.type === 'Flatten')) return undefined;
  const w = weightOf(model.layers[i]);
  // one grey channel: a row of W is a picture the size of the input
  if (!w || w.rank !== 2 || inShape.length !== 3 || inShape[0] !== 1) return undefined;
  const [, h, wd] = inShape;
  if (w.shape[1] !== h * wd) return undefined;
  return { layerIndex: i, name: layerRepr(model.layers[i].spec()), shape: [w.shape[0], 1, h, wd], values: w.data.slice() };
}
