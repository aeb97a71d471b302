// The weights file (format "mnist-ts-weights", version 1): a self-describing JSON document with
// the model's layer specs, input normalisation, classes, metrics, the parameters under PyTorch
// state_dict keys and, optionally, the state to resume training. Pure: text in, objects out.
import { MnistError } from '../engine/errors.ts';
import { fmtShape, shapeSize } from '../engine/tensor.ts';
import { buildModel, descriptorOf } from '../nn/models.ts';
import type { LayerSpec } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';
import { CheckpointError } from './errors.ts';
import { MAX_DEPTH, fail, get, int, join, list, num, obj, onlyKeys, parseJsonObject, refuseHostile, safeKey, str, type Obj } from './json-fields.ts';
import { checkLayers, type ParamShape } from './layer-check.ts';
import { RUN_LIMITS } from './limits.ts';
import { validateResume, type ResumeState } from './resume.ts';
import { checkTensor, tensorToJson, type TensorJson } from './tensor-json.ts';

export { CheckpointError } from './errors.ts';
export { float32ToShortest, tensorToJson, type TensorJson } from './tensor-json.ts';

export const FORMAT = 'mnist-ts-weights';
export const VERSION = 1;

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  samplesPerSecond: number;
  lr: number;
}

export interface WeightsFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  createdAt: string;
  model: { name: string; arch?: string; layers: LayerSpec[] };
  input: { shape: number[]; mean: number; std: number };
  classes: string[];
  dataset: string;
  training: Record<string, unknown>;
  metrics: EpochRecord[];
  state: Record<string, TensorJson>;
  /** Everything needed to continue training exactly (optimizer, scheduler, RNG); see resume.ts. */
  resume?: ResumeState;
}

/** Per-image size of any layer's output; past it one batch would take gigabytes. */
const MAX_ACTIVATION = 1 << 22;

/** Collects the model's parameters under their state_dict keys. */
export function stateDict(model: Sequential): Record<string, TensorJson> {
  const out: Record<string, TensorJson> = Object.create(null);
  // PyTorch's order: each layer's parameters, then its buffers
  const all = [...model.namedParameters(), ...model.namedBuffers()];
  const layerOf = (k: string) => Number(k.slice(0, k.indexOf('.')));
  for (const p of all.sort((a, b) => layerOf(a.key) - layerOf(b.key))) out[p.key] = tensorToJson(p.value);
  return out;
}

// ---- writing ----

/** True for a value written on one line: a primitive, or a list/object of primitives and short lists. */
function flat(v: unknown, depth = 0): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth >= 2) return false;
  // a plain loop: tensors hold hundreds of thousands of numbers
  const items = Array.isArray(v) ? v : Object.values(v);
  for (let i = 0; i < items.length; i++) {
    const e = items[i];
    if (typeof e === 'object' && e !== null && !flat(e, depth + 1)) return false;
  }
  return true;
}

function pretty(v: unknown, indent: string): string {
  if (flat(v)) return JSON.stringify(v) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(v)) return `[\n${v.map((e) => inner + pretty(e, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(v as Obj).filter(([, e]) => e !== undefined);
  return `{\n${entries.map(([k, e]) => `${inner}${JSON.stringify(k)}: ${pretty(e, inner)}`).join(',\n')}\n${indent}}`;
}

/**
 * Serialises with every tensor, layer spec and metrics record on one line, so the file is compact
 * yet readable in a pager; numbers are written as stored (tensorToJson made them shortest float32).
 */
export function serializeWeights(w: WeightsFile): string {
  const { state, ...rest } = w;
  // the parameters go last: the small, human-interesting fields come first in a pager
  return `${pretty({ ...rest, state }, '')}\n`;
}

// ---- reading untrusted files ----

const TOP_KEYS = ['format', 'version', 'createdAt', 'model', 'input', 'classes', 'dataset', 'training', 'metrics', 'state', 'resume'];
const METRIC_KEYS: Record<string, [number, number]> = {
  epoch: [1, RUN_LIMITS.epochs.max],
  trainLoss: [0, Number.MAX_VALUE],
  trainAccuracy: [0, 1],
  testLoss: [0, Number.MAX_VALUE],
  testAccuracy: [0, 1],
  seconds: [0, Number.MAX_VALUE],
  samplesPerSecond: [0, Number.MAX_VALUE],
  lr: [0, Number.MAX_VALUE],
};

function plainValue(v: unknown, path: string, depth: number): unknown {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return num(v, path, -Number.MAX_VALUE, Number.MAX_VALUE, 'a finite number');
  if (typeof v === 'string') return str(v, path, 1000);
  if (Array.isArray(v) && v.length <= 64) {
    if (depth >= MAX_DEPTH) throw new CheckpointError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    return v.map((e, i) => plainValue(e, `${path}[${i}]`, depth + 1));
  }
  fail(path, 'a number, string, boolean, null or a short list', v);
}

/** A copy of an object (`depth` levels into the document) whose values are plain (numbers, strings, booleans, short lists). */
function plainObject(v: unknown, path: string, depth: number, maxKeys: number): Record<string, unknown> {
  const o = obj(v, path);
  const keys = Object.keys(o);
  if (keys.length > maxKeys) fail(path, `at most ${maxKeys} fields`, `${keys.length} fields`);
  const out: Record<string, unknown> = {};
  // the only objects whose keys are free: none may reach a prototype
  for (const k of keys) out[k] = plainValue(o[k], safeKey(k, path), depth + 1);
  return out;
}

/** Checks the stored tensors, filling `values` with each one as float32 in the same pass. */
function checkState(v: unknown, params: readonly ParamShape[], values: Record<string, Float32Array>): Record<string, TensorJson> {
  const o = obj(v, 'state', 'an object of tensors');
  for (const k of Object.keys(o)) {
    if (!params.some((p) => p.key === k)) {
      throw new CheckpointError(`${join('state', k)}: no such parameter in the model (it has ${params.map((p) => p.key).join(', ') || 'none'})`);
    }
  }
  const out: Record<string, TensorJson> = {};
  for (const p of params) {
    if (!Object.hasOwn(o, p.key)) throw new CheckpointError(`${join('state', p.key)}: missing (the model's layers need a tensor ${fmtShape(p.shape)})`);
    values[p.key] = new Float32Array(shapeSize(p.shape));
    out[p.key] = checkTensor(o[p.key], join('state', p.key), p.shape, values[p.key]);
  }
  return out;
}

/**
 * Checks a parsed document field by field against the format and LIMITS, without building
 * anything; the WeightsFile is made of fresh objects. Tensors are checked against the shapes the
 * layer specs imply.
 */
function checkDocument(doc: unknown, values: Record<string, Float32Array> = {}): WeightsFile {
  const d = obj(doc, 'document', 'a JSON object');
  if (get(d, 'format') !== FORMAT) fail('format', `"${FORMAT}" (is this a weights file written by mnist-train?)`, get(d, 'format'));
  const version = get(d, 'version');
  if (version !== VERSION) {
    const newer = typeof version === 'number' && version > VERSION;
    throw new CheckpointError(`version: expected ${VERSION}, found ${JSON.stringify(version) ?? 'nothing'}`, newer ? 'written by a newer mnist-ts; upgrade to read it' : undefined);
  }
  for (const k of Object.keys(d)) {
    if (!TOP_KEYS.includes(k)) throw new CheckpointError(`${join('', k)}: unknown field (a weights file has ${TOP_KEYS.join(', ')})`);
  }
  const createdAt = get(d, 'createdAt') === undefined ? '' : str(get(d, 'createdAt'), 'createdAt', 64);

  const mo = obj(get(d, 'model'), 'model');
  onlyKeys(mo, 'model', ['name', 'arch', 'layers']);
  const name = get(mo, 'name') === undefined ? 'model' : str(get(mo, 'name'), 'model.name', 64);
  const arch = get(mo, 'arch') === undefined ? undefined : str(get(mo, 'arch'), 'model.arch', 4096);
  const { specs, params, buffers } = checkLayers(get(mo, 'layers'), 'model.layers');

  const io = obj(get(d, 'input'), 'input', '{"shape": [1, 28, 28], "mean": ..., "std": ...}');
  onlyKeys(io, 'input', ['shape', 'mean', 'std']);
  const shape = list(get(io, 'shape'), 'input.shape', 1, 4).map((v, i) => int(v, `input.shape[${i}]`, 1, 4096));
  if (shape.reduce((a, b) => a * b, 1) > MAX_ACTIVATION) fail('input.shape', `at most ${MAX_ACTIVATION} values per image`, shape);
  const mean = num(get(io, 'mean'), 'input.mean', -1e6, 1e6);
  const std = num(get(io, 'std'), 'input.std', 1e-12, 1e6, 'a number > 0');

  const classes = list(get(d, 'classes'), 'classes', 1, 1000).map((c, i) => str(c, `classes[${i}]`, 100));
  const dataset = get(d, 'dataset') === undefined ? '' : str(get(d, 'dataset'), 'dataset', 64);
  const training = get(d, 'training') === undefined ? {} : plainObject(get(d, 'training'), 'training', 1, 64);

  const mv = get(d, 'metrics');
  const metrics = (mv === undefined ? [] : list(mv, 'metrics', 0, RUN_LIMITS.epochs.max)).map((m, i) => {
    const p = `metrics[${i}]`;
    const rec = plainObject(m, p, 2, 32);
    for (const [k, [lo, hi]] of Object.entries(METRIC_KEYS)) {
      const v = get(rec, k);
      if (k === 'epoch') int(v, `${p}.epoch`, lo, hi);
      else if (v !== undefined) num(v, `${p}.${k}`, lo, hi);
    }
    return rec as unknown as EpochRecord;
  });

  const file: WeightsFile = {
    format: FORMAT, version: VERSION, createdAt,
    model: { name, arch, layers: specs },
    input: { shape, mean, std }, classes, dataset, training, metrics,
    state: {},
  };
  checkShapes(file);
  // running statistics are saved with the parameters but have no optimizer state
  file.state = checkState(get(d, 'state'), [...params, ...buffers], values);
  if (get(d, 'resume') !== undefined) file.resume = validateResume(get(d, 'resume'), 'resume', params);
  return file;
}

/**
 * Checks a parsed weights document field by field (format, version, every layer's
 * hyper-parameters, every tensor against the shapes the layers imply, the resume state) and
 * returns it as fresh objects; throws a CheckpointError naming the first bad field.
 */
export function validateWeights(doc: unknown): WeightsFile {
  return checkOnce(doc);
}

/**
 * Parses an untrusted weights file and rebuilds its model from the stored parameters: the whole
 * document is validated before anything is built, and the layers adopt the stored tensors (no
 * initialisation to overwrite); every failure is a one-line CheckpointError naming the field.
 */
export function readWeights(text: string): { file: WeightsFile; model: Sequential } {
  const state: Record<string, Float32Array> = {};
  const file = checkOnce(parseJsonObject(text), state);
  return { file, model: buildModel(file.model.layers, { state }) };
}

/**
 * checkDocument is the one walk over a good file: it refuses prototype keys and deep nesting where
 * it copies free-form values, and converts the tensors as it checks them. A file it refuses is
 * walked once more, so that a hostile key or nesting is the error named wherever it stands.
 */
function checkOnce(doc: unknown, values?: Record<string, Float32Array>): WeightsFile {
  try {
    return checkDocument(doc, values);
  } catch (err) {
    refuseHostile(doc);
    throw err;
  }
}

/** Runs the input shape through the layer specs: each must accept its input, the output must be [N, classes]. */
function checkShapes(file: WeightsFile): void {
  let shape = [1, ...file.input.shape];
  file.model.layers.forEach((spec, i) => {
    try {
      shape = descriptorOf(spec).outputShape(spec, shape);
    } catch (err) {
      if (!(err instanceof MnistError)) throw err;
      throw new CheckpointError(`model.layers[${i}]: ${spec.type} does not fit its input [N, ${shape.slice(1).join(', ')}]: ${err.message}`);
    }
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    if (per > MAX_ACTIVATION) fail(`model.layers[${i}]`, `an output of at most ${MAX_ACTIVATION} values per image`, `[N, ${shape.slice(1).join(', ')}]`);
  });
  const n = file.classes.length;
  if (shape.length !== 2 || shape[1] !== n) {
    throw new CheckpointError(`model.layers: the model outputs [N, ${shape.slice(1).join(', ')}], but classes lists ${n} names (expected [N, ${n}])`);
  }
}

