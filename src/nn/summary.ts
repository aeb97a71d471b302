// A model summary like torchsummary's: each layer's PyTorch-style name, output shape and parameter
// count (summarize, pure data), a plain-text table of it (formatSummary), and its multiplications.
import { fmtShape, shapeSize } from '../engine/tensor.ts';
import { reprSpec } from './layer.ts';
import { descriptorOf, parameterCount } from './models.ts';
import type { LayerSpec } from './module.ts';
import type { Sequential } from './sequential.ts';

export interface SummaryRow {
  /** Position in the Sequential, as in the state_dict keys ("0.weight"). */
  index: number;
  /** PyTorch-repr style, defaults left out: "Conv2d(1, 16, kernel_size=3, padding=1)". */
  name: string;
  type: string;
  /** The layer's output shape with the batch dimension as -1: [-1, 16, 28, 28]. */
  outputShape: number[];
  params: number;
}

export interface ModelSummary {
  /** The input shape with the batch dimension as -1: [-1, 1, 28, 28]. */
  inputShape: number[];
  rows: SummaryRow[];
  totalParams: number;
  /** Every parameter is trained (no freezing), so this equals totalParams. */
  trainableParams: number;
}

/** Summarises a model for samples of shape `inputShape` (no batch dimension, e.g. [1, 28, 28]). */
export function summarize(model: Sequential, inputShape: readonly number[]): ModelSummary {
  let shape = [1, ...inputShape];
  const rows = model.layers.map((layer, index) => {
    shape = layer.outputShape(shape);
    const params = parameterCount(layer);
    return { index, name: layerRepr(layer.spec()), type: layer.type, outputShape: [-1, ...shape.slice(1)], params };
  });
  const totalParams = rows.reduce((n, r) => n + r.params, 0);
  return { inputShape: [-1, ...inputShape], rows, totalParams, trainableParams: totalParams };
}

/**
 * Multiplications of one sample's forward pass through the layers with weights: each weight is
 * used once per output position (a linear layer's 1, a convolution's outH × outW).
 */
export function forwardMultiplies(model: Sequential, inputShape: readonly number[]): number {
  let shape = [1, ...inputShape], total = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape(shape);
    const weight = layer.parameters()[0];
    if (weight) total += weight.value.size * (shapeSize(out) / out[1]);
    shape = out;
  }
  return total;
}

/** The PyTorch repr of a layer spec, leaving out arguments at their defaults. */
export function layerRepr(s: LayerSpec): string {
  return reprSpec(descriptorOf(s), s);
}

/** 206922 -> "206,922" (locale-independent). */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Renders a summary as a torchsummary-like plain-text table. */
export function formatSummary(s: ModelSummary): string {
  const head = ['#', 'Layer (type)', 'Output Shape', 'Param #'];
  const body = s.rows.map((r) => [String(r.index), r.name, fmtShape(r.outputShape), thousands(r.params)]);
  const w = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    `${cells[0].padStart(w[0])}  ${cells[1].padEnd(w[1])}  ${cells[2].padEnd(w[2])}  ${cells[3].padStart(w[3])}`;
  const width = w.reduce((a, b) => a + b, 0) + 6;
  const rule = (ch: string) => ch.repeat(width);
  return [
    rule('-'),
    line(head),
    rule('='),
    ...body.map(line),
    rule('='),
    `Total params: ${thousands(s.totalParams)}`,
    `Trainable params: ${thousands(s.trainableParams)}`,
    `Non-trainable params: ${thousands(s.totalParams - s.trainableParams)}`,
    rule('-'),
    `Input size: ${fmtShape(s.inputShape)}`,
    `Params size (MB): ${((s.totalParams * 4) / (1024 * 1024)).toFixed(2)}`,
    rule('-'),
  ].join('\n');
}
