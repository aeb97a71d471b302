// A safetensors file (ours, or PyTorch's save_file(model.state_dict())) made into a weights
// document: the architecture from --arch or the file's metadata, then the whole document through
// the weights file's own validation (every key, shape and value against the layers) before use.
import { MnistError } from '../engine/errors.ts';
import { parseArch } from '../nn/arch.ts';
import { FORMAT, VERSION, tensorToJson, validateWeights, type WeightsFile } from '../weights/checkpoint.ts';
import { parseUntrustedJson } from '../weights/json-fields.ts';
import { InteropError } from './errors.ts';
import type { SafetensorsFile } from './safetensors.ts';

export interface ImportOptions {
  /** Names the file in messages. */
  label: string;
  /** An --arch string; without it the file's mnist_ts.layers metadata is used. */
  arch?: string;
  /** Used when the file carries no mnist-ts metadata (a PyTorch-written file). */
  defaults: { dataset: string; input: { shape: number[]; mean: number; std: number }; classes: string[] };
  createdAt?: string;
}

/** A metadata value that holds JSON, parsed with the weights file's untrusted-JSON rules. */
function metaJson(st: SafetensorsFile, key: string, label: string): unknown {
  if (!Object.hasOwn(st.metadata, key)) return undefined;
  try {
    // parseUntrustedJson takes documents that are objects: wrap the value in one
    return parseUntrustedJson(`{"value":${st.metadata[key]}\n}`).value;
  } catch (err) {
    if (!(err instanceof MnistError)) throw err;
    throw new InteropError(`${label}: __metadata__["${key}"] is not valid (${err.message})`, 'pass --arch to name the architecture yourself');
  }
}

/**
 * Builds a validated WeightsFile from a decoded safetensors file. Throws one-line InteropErrors:
 * no architecture, keys or shapes that do not match it, non-finite values.
 */
export function weightsFromSafetensors(st: SafetensorsFile, o: ImportOptions): WeightsFile {
  const meta = (k: string) => (Object.hasOwn(st.metadata, k) ? st.metadata[k] : undefined);
  const input = (metaJson(st, 'mnist_ts.input', o.label) as WeightsFile['input'] | undefined) ?? o.defaults.input;
  const classes = (metaJson(st, 'mnist_ts.classes', o.label) as string[] | undefined) ?? o.defaults.classes;
  let layers: unknown;
  let arch: string | undefined;
  if (o.arch !== undefined) {
    const shape = Array.isArray(input?.shape) ? input.shape : o.defaults.input.shape;
    layers = parseArch(o.arch, shape, Array.isArray(classes) ? classes.length : 10);
    arch = o.arch;
  } else {
    layers = metaJson(st, 'mnist_ts.layers', o.label);
    arch = meta('mnist_ts.arch');
    if (layers === undefined) {
      throw new InteropError(`${o.label}: the file does not say which architecture its tensors belong to (no mnist_ts.layers metadata)`,
        `pass --arch "<layers>", e.g. --arch "flatten linear(128) relu linear(10)" for keys ${Object.keys(st.tensors).slice(0, 4).join(', ')}`);
    }
  }
  const keys = Object.keys(st.tensors);
  // DistributedDataParallel's own state_dict prefixes every key with "module."
  const strip = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
  const state: Record<string, unknown> = {};
  for (const k of keys) {
    const d = st.tensors[k].data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) throw new InteropError(`${o.label}: tensor ${JSON.stringify(k)}: value ${i} is ${d[i]}, not a finite number`, 'was the model saved after training diverged?');
    }
    state[strip ? k.slice('module.'.length) : k] = tensorToJson(st.tensors[k]);
  }
  // validateWeights checks what the metadata holds; a model trained on in PyTorch says so
  const recorded = metaJson(st, 'mnist_ts.training', o.label) ?? {};
  const isPlain = typeof recorded === 'object' && recorded !== null && !Array.isArray(recorded);
  const training = meta('mnist_ts.pytorch') !== undefined && isPlain ? { ...recorded, continuedIn: 'pytorch' } : recorded;
  const doc = {
    format: FORMAT,
    version: VERSION,
    createdAt: o.createdAt ?? new Date().toISOString(),
    model: { name: meta('mnist_ts.name') ?? (o.arch !== undefined ? 'arch' : 'imported'), arch, layers },
    input,
    classes,
    dataset: meta('mnist_ts.dataset') ?? o.defaults.dataset,
    training,
    metrics: [],
    state,
  };
  try {
    return validateWeights(doc);
  } catch (err) {
    if (!(err instanceof MnistError)) throw err;
    // the document's field names, told in terms of the safetensors file
    const msg = err.message.replace(/^state(?:\.([A-Za-z_$][\w$]*)|\[("(?:[^"\\]|\\.)*")\])(?:\.(shape|data))?/, (_m, id?: string, quoted?: string, field?: string) =>
      `tensor ${id !== undefined ? JSON.stringify(id) : quoted}${field ? ` ${field}` : ''}`);
    throw new InteropError(`${o.label}: ${msg}`, o.arch !== undefined ? 'was the file saved from a model with this --arch? (nn.Sequential keys: 0.weight, 0.bias, ...)' : err.hint);
  }
}
