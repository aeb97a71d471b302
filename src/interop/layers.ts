// Everything mnist-ts knows about each layer type outside its own engine, in one table keyed by
// the stored LayerSpec type: the ONNX nodes (opset 13) it becomes, and its PyTorch constructor.
import type { LayerSpec } from '../nn/module.ts';
import { InteropError } from './errors.ts';

/** An ONNX attribute value; the key says its ONNX type. */
export type OnnxAttr = { i: number } | { f: number } | { ints: number[] } | { s: string };

/** What a layer's entry may add to the graph being built. */
export interface OnnxGraph {
  /** Adds a node and returns the name of its (single) output. */
  node(opType: string, inputs: string[], attrs?: Record<string, OnnxAttr>): string;
  /** A constant int64 tensor (e.g. Reshape's target shape); returns its name. */
  int64s(values: number[]): string;
  /** A constant float tensor of one dimension (e.g. BatchNorm's scale without affine); returns its name. */
  floats(values: number[]): string;
}

export interface LayerContext {
  /** Where the layer sits, for messages: `model.layers[3]`. */
  where: string;
  /** Input and output shapes, the batch dimension first. */
  inShape: number[];
  outShape: number[];
  /**
   * The layer's parameters and running statistics by name ("weight", "running_mean") → their
   * initializer names ("3.weight").
   */
  params: Record<string, string>;
}

export interface LayerInterop {
  /** Emits the layer's ONNX nodes after value `x`; returns the output's name. */
  onnx(x: string, spec: LayerSpec, g: OnnxGraph, c: LayerContext): string;
  /**
   * Keyword arguments of the torch.nn constructor of the same name. By default every stored
   * field (LayerSpecs use PyTorch's argument names in camelCase), snake_cased.
   */
  torch?(spec: LayerSpec): Record<string, unknown>;
}

const pair = (v: unknown, dflt: number): [number, number] =>
  v === undefined || v === null ? [dflt, dflt] : Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number];

/** ONNX's pads: [top, left, bottom, right] for NCHW. */
const pads = (p: [number, number]): number[] => [p[0], p[1], p[0], p[1]];

/** A pooling layer's stride: PyTorch's default is the kernel size, ONNX's is 1, so it is always written. */
const poolStride = (s: LayerSpec, kernel: [number, number]): [number, number] =>
  s.stride === undefined || s.stride === null ? kernel : pair(s.stride, 1);

/**
 * Whether ONNX's ceil-mode output size equals PyTorch's, which drops a last window that would
 * start in the bottom/right padding (c.outShape is PyTorch's).
 */
function ceilAgrees(c: LayerContext, k: number[], st: number[], p: number[], d: number[]): boolean {
  return [0, 1].every((a) => Math.ceil((c.inShape[a + 2] + 2 * p[a] - d[a] * (k[a] - 1) - 1) / st[a]) + 1 === c.outShape[a + 2]);
}

/**
 * A pooling layer's pads and ceil_mode. Where PyTorch's ceil mode drops a last window that would
 * start in the bottom/right padding and ONNX's output-size rule keeps it, floor mode over extra end
 * padding gives exactly PyTorch's windows: -inf (MaxPool) or uncounted (AveragePool without
 * count_include_pad) padding adds nothing.
 */
function poolPads(s: LayerSpec, c: LayerContext, k: number[], st: number[], p: [number, number], d: number[]): Record<string, OnnxAttr> {
  if (!s.ceilMode || ceilAgrees(c, k, st, p, d)) return { pads: { ints: pads(p) }, ceil_mode: { i: s.ceilMode ? 1 : 0 } };
  const end = [0, 1].map((a) => Math.max(p[a], (c.outShape[a + 2] - 1) * st[a] + d[a] * (k[a] - 1) + 1 - c.inShape[a + 2] - p[a]));
  if (end.some((e, a) => e >= k[a])) {
    throw new InteropError(`${c.where}: ${s.type} with ceilMode here needs more end padding than ONNX Runtime accepts (below the kernel size)`, 'export to .safetensors or .py instead');
  }
  return { pads: { ints: [p[0], p[1], end[0], end[1]] }, ceil_mode: { i: 0 } };
}

const activation = (op: string): LayerInterop => ({ onnx: (x, _s, g) => g.node(op, [x]) });

const softmax = (op: string): LayerInterop => ({ onnx: (x, s, g) => g.node(op, [x], { axis: { i: (s.dim as number | undefined) ?? 1 } }) });

export const LAYERS: Record<string, LayerInterop> = {
  Conv2d: {
    onnx(x, s, g, c) {
      const k = pair(s.kernelSize, 1), d = pair(s.dilation, 1);
      let p: number[];
      if (s.padding === 'same') {
        // PyTorch puts the odd zero of an even effective kernel at the bottom/right
        const tH = d[0] * (k[0] - 1), tW = d[1] * (k[1] - 1);
        p = [Math.floor(tH / 2), Math.floor(tW / 2), tH - Math.floor(tH / 2), tW - Math.floor(tW / 2)];
      } else {
        p = pads(s.padding === 'valid' ? [0, 0] : pair(s.padding, 0));
      }
      const inputs = [x, c.params.weight];
      if (c.params.bias) inputs.push(c.params.bias);
      return g.node('Conv', inputs, {
        kernel_shape: { ints: k }, strides: { ints: pair(s.stride, 1) }, pads: { ints: p },
        dilations: { ints: d }, group: { i: (s.groups as number | undefined) ?? 1 },
      });
    },
  },
  MaxPool2d: {
    onnx(x, s, g, c) {
      const k = pair(s.kernelSize, 1), st = poolStride(s, k), p = pair(s.padding, 0), d = pair(s.dilation, 1);
      return g.node('MaxPool', [x], {
        kernel_shape: { ints: k }, strides: { ints: st }, dilations: { ints: d }, ...poolPads(s, c, k, st, p, d),
      });
    },
  },
  AvgPool2d: {
    onnx(x, s, g, c) {
      if (s.divisorOverride !== undefined && s.divisorOverride !== null) {
        throw new InteropError(`${c.where}: AvgPool2d with divisorOverride ${String(s.divisorOverride)} has no ONNX form (AveragePool always divides by the window)`, 'export to .safetensors or .py instead');
      }
      const k = pair(s.kernelSize, 1), st = poolStride(s, k), p = pair(s.padding, 0);
      const includePad = s.countIncludePad !== false;
      if (includePad && s.ceilMode && !ceilAgrees(c, k, st, p, [1, 1])) {
        // the extra end padding below would be counted in the divisor
        throw new InteropError(`${c.where}: AvgPool2d with ceilMode and countIncludePad on a ${c.inShape.slice(2).join('x')} input has no ONNX form (PyTorch drops the last window, ONNX's ceil mode keeps it)`, 'export to .safetensors or .py instead, or use countIncludePad false');
      }
      return g.node('AveragePool', [x], {
        kernel_shape: { ints: k }, strides: { ints: st }, ...poolPads(s, c, k, st, p, [1, 1]), count_include_pad: { i: includePad ? 1 : 0 },
      });
    },
  },
  Linear: {
    onnx(x, _s, g, c) {
      if (c.inShape.length === 2) {
        // Gemm computes x·Wᵀ + b directly on the stored [out, in] weight
        const inputs = [x, c.params.weight];
        if (c.params.bias) inputs.push(c.params.bias);
        return g.node('Gemm', inputs, { transB: { i: 1 } });
      }
      // Gemm takes only matrices; over more dimensions PyTorch applies the layer to the last one
      const wt = g.node('Transpose', [c.params.weight], { perm: { ints: [1, 0] } });
      const y = g.node('MatMul', [x, wt]);
      return c.params.bias ? g.node('Add', [y, c.params.bias]) : y;
    },
  },
  Flatten: {
    onnx(x, s, g, c) {
      const r = c.inShape.length;
      const norm = (d: number) => (d < 0 ? d + r : d);
      const start = norm((s.startDim as number | undefined) ?? 1), end = norm((s.endDim as number | undefined) ?? -1);
      if (start === 1 && end === r - 1) return g.node('Flatten', [x], { axis: { i: 1 } });
      // 0 copies a leading dimension (the symbolic batch among them), -1 is the merged one
      const shape = [...Array(start).fill(0), -1, ...c.inShape.slice(end + 1)];
      return g.node('Reshape', [x, g.int64s(shape)]);
    },
  },
  ReLU: activation('Relu'),
  Tanh: activation('Tanh'),
  Sigmoid: activation('Sigmoid'),
  LeakyReLU: {
    onnx: (x, s, g) => g.node('LeakyRelu', [x], { alpha: { f: (s.negativeSlope as number | undefined) ?? 0.01 } }),
  },
  Softmax: softmax('Softmax'),
  LogSoftmax: softmax('LogSoftmax'),
  // identity at inference, which is all an exported graph does
  Dropout: { onnx: (x) => x },
  BatchNorm2d: { onnx: (x, s, g, c) => batchNorm(x, s, g, c, [0, 2, 3]) },
  BatchNorm1d: { onnx: (x, s, g, c) => batchNorm(x, s, g, c, [0]) },
};

/**
 * BatchNormalization in inference mode: (x - mean) / sqrt(var + eps) · scale + B per channel.
 * Without affine the scale is 1 and B is 0. Without running statistics PyTorch normalises by the
 * batch's own, in eval() too: its mean and biased variance over `axes` (all but the channel) are
 * computed in the graph and fed as the mean and variance.
 */
function batchNorm(x: string, s: LayerSpec, g: OnnxGraph, c: LayerContext, axes: number[]): string {
  const n = s.numFeatures as number;
  const scale = c.params.weight ?? g.floats(Array<number>(n).fill(1));
  const shift = c.params.bias ?? g.floats(Array<number>(n).fill(0));
  let mean = c.params.running_mean, variance = c.params.running_var;
  if (s.trackRunningStats === false) {
    mean = g.node('ReduceMean', [x], { axes: { ints: axes }, keepdims: { i: 0 } });
    const centred = g.node('Sub', [x, g.node('ReduceMean', [x], { axes: { ints: axes }, keepdims: { i: 1 } })]);
    variance = g.node('ReduceMean', [g.node('Mul', [centred, centred])], { axes: { ints: axes }, keepdims: { i: 0 } });
  } else if (!mean || !variance) {
    throw new InteropError(`${c.where}: ${s.type} tracks running statistics, but the model holds none to write`);
  }
  return g.node('BatchNormalization', [x, scale, shift, mean, variance], {
    epsilon: { f: (s.eps as number | undefined) ?? 1e-5 },
    // ONNX's momentum weighs the old running value, PyTorch's the new batch's
    momentum: { f: 1 - ((s.momentum as number | undefined) ?? 0.1) },
  });
}

/** The table entry for a layer, or a one-line refusal naming it. */
export function layerInterop(spec: LayerSpec, where: string, target: string): LayerInterop {
  const e = Object.hasOwn(LAYERS, spec.type) ? LAYERS[spec.type] : undefined;
  if (!e) throw new InteropError(`${where}: mnist-ts cannot write a ${spec.type} layer to ${target} yet`, `layers it can write: ${Object.keys(LAYERS).join(', ')}`);
  return e;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

/** A JSON-like value as a Python literal (lists become tuples, as PyTorch writes sizes). */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InteropError(`cannot write ${v} as a Python literal`);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `(${v.map(pyLiteral).join(', ')}${v.length === 1 ? ',' : ''})`;
  throw new InteropError(`cannot write ${JSON.stringify(v)} as a Python literal`);
}

/** `nn.Conv2d(in_channels=1, out_channels=16, ...)`: the PyTorch constructor of a stored layer. */
export function torchConstructor(spec: LayerSpec, where: string): string {
  const e = layerInterop(spec, where, 'PyTorch');
  const args = e.torch ? e.torch(spec) : Object.fromEntries(Object.entries(spec).filter(([k]) => k !== 'type'));
  const kw = Object.entries(args).filter(([, v]) => v !== undefined).map(([k, v]) => `${snake(k)}=${pyLiteral(v)}`);
  return `nn.${spec.type}(${kw.join(', ')})`;
}
