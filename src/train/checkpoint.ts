// The weights file (format "mnist-ts-weights", version 1): a self-describing JSON document with
// the model's layer specs, input normalisation, classes, metrics and the parameters under
// PyTorch state_dict keys. Pure: text in, objects out; the CLI does the file I/O.
import { MnistError } from '../engine/errors.ts';
import { Tensor, fmtShape, shapeSize } from '../engine/tensor.ts';
import type { LayerSpec } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';

export const FORMAT = 'mnist-ts-weights';
export const VERSION = 1;

export class CheckpointError extends MnistError {}

export interface TensorJson {
  shape: number[];
  data: number[];
}

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
  resume?: Record<string, unknown>;
}

/**
 * Shortest decimal that reads back as the same float32, so files are compact (about 9 characters
 * a value) and every weight round-trips exactly through JSON.parse + Float32Array.
 */
export function float32ToShortest(v: number): number {
  if (!Number.isFinite(v)) throw new CheckpointError(`cannot store non-finite value ${v}`);
  if (v === 0) return 0;
  for (let p = 6; p <= 9; p++) {
    const s = +v.toPrecision(p);
    if (Math.fround(s) === v) {
      // a shorter form may still exist below 6 digits (0.5, 1e-3)
      if (p === 6) {
        for (let q = 1; q < 6; q++) {
          const t = +v.toPrecision(q);
          if (Math.fround(t) === v) return t;
        }
      }
      return s;
    }
  }
  return v;
}

export function tensorToJson(t: { shape: readonly number[]; data: ArrayLike<number> }): TensorJson {
  const data = new Array<number>(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = float32ToShortest(t.data[i]);
  return { shape: [...t.shape], data };
}

/** Collects the model's parameters under their state_dict keys. */
export function stateDict(model: Sequential): Record<string, TensorJson> {
  const out: Record<string, TensorJson> = Object.create(null);
  for (const p of model.namedParameters()) out[p.key] = tensorToJson(p.value);
  return out;
}

/** Copies stored tensors into the model, checking that every key and shape matches. */
export function loadStateDict(model: Sequential, state: Record<string, TensorJson>): void {
  const params = model.namedParameters();
  const want = new Set(params.map((p) => p.key));
  for (const k of Object.keys(state)) {
    if (!want.has(k)) throw new CheckpointError(`state.${k}: no such parameter in the model (expected ${[...want].join(', ')})`);
  }
  for (const p of params) {
    const t = state[p.key];
    if (!t) throw new CheckpointError(`state.${p.key}: missing`);
    if (!Array.isArray(t.shape) || t.shape.length !== p.value.shape.length || t.shape.some((d, i) => d !== p.value.shape[i])) {
      throw new CheckpointError(`state.${p.key}: shape ${JSON.stringify(t.shape)} does not match the model's ${fmtShape(p.value.shape)}`);
    }
    if (!Array.isArray(t.data) || t.data.length !== shapeSize(t.shape)) {
      throw new CheckpointError(`state.${p.key}: data holds ${Array.isArray(t.data) ? t.data.length : 'no'} values, shape needs ${p.value.size}`);
    }
    const d = p.value.data;
    for (let i = 0; i < d.length; i++) {
      const v = t.data[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CheckpointError(`state.${p.key}: value ${i} is not a finite number`);
      d[i] = v;
    }
  }
}

/** Serialises with one tensor per line, so the file is compact yet readable in a pager. */
export function serializeWeights(w: WeightsFile): string {
  const { state, ...rest } = w;
  const head = JSON.stringify(rest, null, 2);
  const lines = Object.entries(state).map(
    ([k, t]) => `    ${JSON.stringify(k)}: {"shape": ${JSON.stringify(t.shape)}, "data": [${t.data.join(',')}]}`,
  );
  return `${head.slice(0, -2)},\n  "state": {\n${lines.join(',\n')}\n  }\n}\n`;
}

export function tensorFromJson(t: TensorJson): Tensor {
  return Tensor.from(t.shape, t.data);
}

/**
 * Parses a weights file and rebuilds its model with the stored parameters. Untrusted input:
 * every failure is a CheckpointError naming the field.
 */
export function readWeights(text: string, buildModel: (specs: LayerSpec[]) => Sequential): { file: WeightsFile; model: Sequential } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`not a JSON document (${(err as Error).message})`, 'is this a weights file written by mnist-train?');
  }
  const file = validateWeights(doc);
  const model = buildModel(file.model.layers);
  loadStateDict(model, file.state);
  return { file, model };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the document's structure before anything is built from it. */
export function validateWeights(doc: unknown): WeightsFile {
  if (!isObject(doc)) throw new CheckpointError('expected a JSON object at the top level');
  if (doc.format !== FORMAT) {
    throw new CheckpointError(`format: expected "${FORMAT}", found ${JSON.stringify(doc.format)}`, 'is this a weights file written by mnist-train?');
  }
  if (doc.version !== VERSION) throw new CheckpointError(`version: expected ${VERSION}, found ${JSON.stringify(doc.version)}`);
  const model = doc.model;
  if (!isObject(model) || !Array.isArray(model.layers) || !model.layers.every(isObject)) {
    throw new CheckpointError('model.layers: expected a list of layer objects');
  }
  const input = doc.input;
  if (!isObject(input) || !Array.isArray(input.shape) || typeof input.mean !== 'number' || typeof input.std !== 'number' || !(input.std > 0)) {
    throw new CheckpointError('input: expected {shape, mean, std} with std > 0');
  }
  if (!Array.isArray(doc.classes) || !doc.classes.every((c) => typeof c === 'string')) {
    throw new CheckpointError('classes: expected a list of class names');
  }
  if (!isObject(doc.state)) throw new CheckpointError('state: expected an object of tensors');
  return doc as unknown as WeightsFile;
}
