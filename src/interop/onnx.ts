// A model as an ONNX file (opset 13): the layers' nodes from layers.ts, the parameters and running
// statistics as initializers under their state_dict keys, input [N, ...input.shape] with a symbolic batch N,
// and the normalisation, classes and architecture as metadata_props. Pure: returns bytes.
import type { LayerSpec } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';
import { layerInterop, type OnnxAttr, type OnnxGraph } from './layers.ts';
import { ProtoWriter } from './protobuf.ts';

export const OPSET = 13;
/** The IR version that goes with opset 13. */
export const IR_VERSION = 7;

/** What the exporter needs of a model: its specs, shapes and parameters. */
export interface ExportModel {
  name: string;
  arch?: string;
  layers: LayerSpec[];
  /** Each layer's output shape for a batch of N (index i: after layer i). */
  shapes: number[][];
  input: { shape: number[]; mean: number; std: number };
  classes: string[];
  dataset?: string;
  /**
   * Parameters, then the running statistics a graph reads (BatchNorm's running_mean and
   * running_var, not num_batches_tracked), under their state_dict keys ("3.weight").
   */
  params: { key: string; shape: readonly number[]; data: Float32Array }[];
}

// onnx.proto's enums
const FLOAT = 1, INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7;

/** Little-endian bytes of a typed array, whatever the host's byte order. */
function littleEndian(data: Float32Array | BigInt64Array): Uint8Array {
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (le) return bytes;
  const out = new Uint8Array(bytes.length);
  const w = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += w) for (let j = 0; j < w; j++) out[i + j] = bytes[i + w - 1 - j];
  return out;
}

function tensorProto(name: string, dims: readonly number[], type: number, raw: Uint8Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  return t.int(2, type).string(8, name).bytes(9, raw);
}

function attribute(name: string, a: OnnxAttr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('i' in a) return w.int(3, a.i).int(20, ATTR_INT);
  if ('f' in a) return w.float(2, a.f).int(20, ATTR_FLOAT);
  if ('s' in a) return w.string(4, a.s).int(20, ATTR_STRING);
  for (const v of a.ints) w.int(8, v);
  return w.int(20, ATTR_INTS);
}

/** ValueInfoProto of a float tensor; a string dimension is symbolic. */
function valueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

interface Node { op: string; inputs: string[]; output: string; attrs: Record<string, OnnxAttr> }

/** The metadata every exported file carries, also written to safetensors' __metadata__. */
export function modelMetadata(m: Pick<ExportModel, 'name' | 'arch' | 'layers' | 'input' | 'classes' | 'dataset'>): Record<string, string> {
  const out: Record<string, string> = {
    'mnist_ts.format': 'mnist-ts-weights/1',
    'mnist_ts.name': m.name,
    'mnist_ts.layers': JSON.stringify(m.layers),
    'mnist_ts.input': JSON.stringify(m.input),
    'mnist_ts.classes': JSON.stringify(m.classes),
    normalization: `input = (pixel / 255 - ${m.input.mean}) / ${m.input.std}, pixels 0..255, shape [N, ${m.input.shape.join(', ')}]`,
  };
  if (m.arch !== undefined) out['mnist_ts.arch'] = m.arch;
  if (m.dataset) out['mnist_ts.dataset'] = m.dataset;
  return out;
}

/** Encodes the model as an ONNX ModelProto. Throws an InteropError for a layer without an ONNX form. */
export function toOnnx(m: ExportModel, producerVersion = ''): Uint8Array {
  const nodes: Node[] = [];
  const initializers: ProtoWriter[] = [];
  const counts = new Map<string, number>();
  let constants = 0;
  const g: OnnxGraph = {
    node(op, inputs, attrs = {}) {
      const n = counts.get(op) ?? 0;
      counts.set(op, n + 1);
      const output = `${op}_${n}`;
      nodes.push({ op, inputs, output, attrs });
      return output;
    },
    int64s(values) {
      const name = `shape_${constants++}`;
      initializers.push(tensorProto(name, [values.length], INT64, littleEndian(BigInt64Array.from(values.map(BigInt)))));
      return name;
    },
    floats(values) {
      const name = `const_${constants++}`;
      initializers.push(tensorProto(name, [values.length], FLOAT, littleEndian(Float32Array.from(values))));
      return name;
    },
  };
  for (const p of m.params) initializers.push(tensorProto(p.key, p.shape, FLOAT, littleEndian(p.data)));

  let x = 'input';
  let inShape = [-1, ...m.input.shape];
  m.layers.forEach((spec, i) => {
    const where = `model.layers[${i}]`;
    const params: Record<string, string> = {};
    for (const p of m.params) if (p.key.startsWith(`${i}.`)) params[p.key.slice(String(i).length + 1)] = p.key;
    const outShape = m.shapes[i];
    x = layerInterop(spec, where, 'ONNX').onnx(x, spec, g, { where, inShape, outShape, params });
    inShape = outShape;
  });
  // the graph's output is called "output": the last node's, or an Identity when no node made it
  const last = nodes.at(-1);
  if (last && last.output === x) last.output = 'output';
  else nodes.push({ op: 'Identity', inputs: [x], output: 'output', attrs: {} });

  const graph = new ProtoWriter();
  for (const n of nodes) {
    const w = new ProtoWriter();
    for (const v of n.inputs) w.string(1, v);
    w.string(2, n.output).string(3, n.output).string(4, n.op);
    for (const [k, a] of Object.entries(n.attrs)) w.message(5, attribute(k, a));
    graph.message(1, w);
  }
  graph.string(2, m.name);
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo('input', ['N', ...m.input.shape]));
  graph.message(12, valueInfo('output', ['N', ...inShape.slice(1)]));

  const model = new ProtoWriter().int(1, IR_VERSION).string(2, 'mnist-ts');
  if (producerVersion) model.string(3, producerVersion);
  model.string(6, `${m.name}${m.arch ? `: ${m.arch}` : ''}; input ${modelMetadata(m).normalization}`);
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
  for (const [k, v] of Object.entries(modelMetadata(m))) {
    model.message(14, new ProtoWriter().string(1, k).string(2, v));
  }
  return model.finish();
}

/** The exporter's view of a loaded weights file: shapes run through the built layers. */
export function exportModelOf(
  file: { model: { name: string; arch?: string; layers: LayerSpec[] }; input: { shape: number[]; mean: number; std: number }; classes: string[]; dataset?: string },
  model: Sequential,
): ExportModel {
  const shapes: number[][] = [];
  let shape = [1, ...file.input.shape];
  for (const l of model.layers) shapes.push((shape = l.outputShape(shape)));
  return {
    name: file.model.name, arch: file.model.arch, layers: file.model.layers, shapes,
    input: file.input, classes: file.classes, dataset: file.dataset,
    params: [...model.namedParameters(), ...model.namedBuffers().filter((b) => b.name !== 'num_batches_tracked')]
      .map((p) => ({ key: p.key, shape: p.value.shape, data: p.value.data })),
  };
}
