// Validation of the layer specs in an untrusted weights file: each layer's fields by its descriptor
// (nn/layers.ts) within LIMITS, and the parameter shapes the specs imply, before any layer is built.
import { LayerFieldError, checkSpec } from '../nn/layer.ts';
import { LAYERS, layerByType } from '../nn/layers.ts';
import type { LayerSpec } from '../nn/module.ts';
import { CheckpointError } from './errors.ts';
import { fail, get, join, obj } from './json-fields.ts';

/** Sizes beyond these are refused: far past any MNIST model, far below what would exhaust memory. */
export const LIMITS = {
  layers: 256,
  channels: 4096,
  kernel: 64,
  stride: 64,
  padding: 64,
  dilation: 64,
  features: 1 << 20,
  /** Total parameters of the model (200 MB of float32). */
  params: 50_000_000,
  /** |dim| for Flatten, Softmax and LogSoftmax. */
  dim: 8,
};

/** A parameter the specs imply, under its state_dict key ("3.weight"). */
export interface ParamShape {
  key: string;
  shape: number[];
}

/**
 * Validates `model.layers` with each type's descriptor (nn/layers.ts) under LIMITS. Returns fresh
 * spec objects (never the parsed ones), the parameter shapes the specs imply and their total size.
 */
export function checkLayers(v: unknown, path: string): { specs: LayerSpec[]; params: ParamShape[]; buffers: ParamShape[]; count: number } {
  if (!Array.isArray(v) || v.length < 1 || v.length > LIMITS.layers) fail(path, `a list of 1..${LIMITS.layers} layers`, v);
  const specs: LayerSpec[] = [];
  const params: ParamShape[] = [];
  const buffers: ParamShape[] = [];
  let total = 0;
  v.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = obj(item, p, 'a layer object such as {"type": "Linear", ...}');
    const type = get(o, 'type');
    const d = typeof type === 'string' ? layerByType(type) : undefined;
    if (!d) fail(`${p}.type`, `one of ${LAYERS.map((l) => l.type).join(', ')}`, type);
    let spec: LayerSpec;
    try {
      spec = checkSpec(d!, o, LIMITS);
    } catch (e) {
      if (!(e instanceof LayerFieldError)) throw e;
      if (e.unknown) throw new CheckpointError(`${join(p, e.field)}: unknown field (expected only type, ${Object.keys(d!.fields).join(', ')})`);
      fail(join(p, e.field), e.expected('json'), e.found);
    }
    specs.push(spec!);
    for (const [name, shape] of d!.params(spec!)) {
      total += shape.reduce((a, b) => a * b, 1);
      if (total > LIMITS.params) {
        throw new CheckpointError(`${p}: ${d!.type} with ${name} ${JSON.stringify(shape)} takes the model past ${LIMITS.params.toLocaleString('en-US')} parameters, the limit for a weights file`);
      }
      params.push({ key: `${i}.${name}`, shape });
    }
    for (const [name, shape] of d!.buffers?.(spec!) ?? []) buffers.push({ key: `${i}.${name}`, shape });
  });
  return { specs, params, buffers, count: total };
}
