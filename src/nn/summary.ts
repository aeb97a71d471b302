// A model summary like torchsummary's: each layer's PyTorch-style name, output shape and parameter
// count (summarize, pure data), and a plain-text table of it (formatSummary).
import { fmtShape } from '../engine/tensor.ts';
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
    const params = layer.parameters().reduce((n, p) => n + p.value.size, 0);
    return { index, name: layerRepr(layer.spec()), type: layer.type, outputShape: [-1, ...shape.slice(1)], params };
  });
  const totalParams = rows.reduce((n, r) => n + r.params, 0);
  return { inputShape: [-1, ...inputShape], rows, totalParams, trainableParams: totalParams };
}

/** An int for a square pair, "(h, w)" otherwise, as PyTorch prints sizes. */
function size(v: unknown): string {
  if (!Array.isArray(v)) return String(v);
  return v.length === 2 && v[0] === v[1] ? String(v[0]) : `(${v.join(', ')})`;
}

function isAll(v: unknown, n: number): boolean {
  return Array.isArray(v) ? v.every((d) => d === n) : v === n;
}

/** The PyTorch repr of a layer spec, leaving out arguments at their defaults. */
export function layerRepr(s: LayerSpec): string {
  const args: string[] = [];
  switch (s.type) {
    case 'Conv2d':
      args.push(`${s.inChannels}`, `${s.outChannels}`, `kernel_size=${size(s.kernelSize)}`);
      if (s.stride !== undefined && !isAll(s.stride, 1)) args.push(`stride=${size(s.stride)}`);
      if (s.padding !== undefined && !isAll(s.padding, 0)) args.push(`padding=${size(s.padding)}`);
      if (s.dilation !== undefined && !isAll(s.dilation, 1)) args.push(`dilation=${size(s.dilation)}`);
      if (s.groups !== undefined && s.groups !== 1) args.push(`groups=${s.groups}`);
      if (s.bias === false) args.push('bias=False');
      break;
    case 'MaxPool2d':
      args.push(`kernel_size=${size(s.kernelSize)}`, `stride=${size(s.stride ?? s.kernelSize)}`);
      if (s.padding !== undefined && !isAll(s.padding, 0)) args.push(`padding=${size(s.padding)}`);
      if (s.dilation !== undefined && !isAll(s.dilation, 1)) args.push(`dilation=${size(s.dilation)}`);
      if (s.ceilMode === true) args.push('ceil_mode=True');
      break;
    case 'Linear':
      args.push(`in_features=${s.inFeatures}`, `out_features=${s.outFeatures}`);
      if (s.bias === false) args.push('bias=False');
      break;
    case 'Flatten':
      if ((s.startDim ?? 1) !== 1 || (s.endDim ?? -1) !== -1) args.push(`start_dim=${s.startDim ?? 1}`, `end_dim=${s.endDim ?? -1}`);
      break;
    case 'Dropout':
      args.push(`p=${s.p ?? 0.5}`);
      break;
    case 'Softmax':
    case 'LogSoftmax':
      args.push(`dim=${s.dim ?? 1}`);
      break;
  }
  return `${s.type}(${args.join(', ')})`;
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
