// Builds models from layer specs (the weights file, --arch) and the named presets (mlp, cnn).
import { ConfigError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import { checkSpec, type AnyDescriptor, type LayerSource } from './layer.ts';
import { LAYERS, layerByType } from './layers.ts';
import type { LayerSpec, Module } from './module.ts';
import { Sequential } from './sequential.ts';

/** The descriptor for a spec's type; throws a ConfigError listing the known ones. */
export function descriptorOf(spec: LayerSpec): AnyDescriptor {
  const d = layerByType(spec.type);
  if (!d) throw new ConfigError(`unknown layer type ${JSON.stringify(spec.type)}`, `known types: ${LAYERS.map((l) => l.type).join(', ')}`);
  return d;
}

/** Builds one layer from its spec, with fresh weights (from rng) or, given `from.state`, the stored ones. */
export function buildLayer(spec: LayerSpec, from?: Rng | LayerSource): Module {
  const d = descriptorOf(spec);
  return d.create(checkSpec(d, spec), isSource(from) ? from : { rng: from });
}

function isSource(v: Rng | LayerSource | undefined): v is LayerSource {
  return v !== undefined && !(v instanceof Rng);
}

/** Builds a Sequential from specs; with `state`, each layer adopts its tensors ("3.weight") instead of drawing any. */
export function buildModel(specs: readonly LayerSpec[], from?: Rng | { state: Readonly<Record<string, Float32Array>> }): Sequential {
  if (from && 'state' in from) {
    const state = from.state;
    return new Sequential(...specs.map((s, i) => {
      const own: Record<string, Float32Array> = {};
      const d = descriptorOf(s);
      for (const [name] of [...d.params(s), ...(d.buffers?.(s) ?? [])]) {
        const key = `${i}.${name}`;
        if (Object.hasOwn(state, key)) own[name] = state[key];
      }
      return buildLayer(s, { state: own });
    }));
  }
  return new Sequential(...specs.map((s) => buildLayer(s, from)));
}

/** The MLP of the user's notes: flatten, then Linear+ReLU per hidden width, then Linear to the classes. */
export function mlpSpecs(hidden: readonly number[], inputSize = 784, classes = 10): LayerSpec[] {
  const specs: LayerSpec[] = [{ type: 'Flatten', startDim: 1, endDim: -1 }];
  let width = inputSize;
  for (const h of hidden) {
    specs.push({ type: 'Linear', inFeatures: width, outFeatures: h, bias: true }, { type: 'ReLU' });
    width = h;
  }
  specs.push({ type: 'Linear', inFeatures: width, outFeatures: classes, bias: true });
  return specs;
}

/** Number of learnable values in a model (or layer). */
export function parameterCount(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.value.size, 0);
}
