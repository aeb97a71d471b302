// Builds models from layer specs (the weights file, --arch) and the named presets (mlp, cnn).
import { ConfigError } from '../engine/errors.ts';
import type { Rng } from '../engine/rng.ts';
import type { IntOrPair } from './args.ts';
import { Conv2d, type Conv2dPadding } from './conv2d.ts';
import { Dropout } from './dropout.ts';
import { Flatten } from './flatten.ts';
import { Linear } from './linear.ts';
import { MaxPool2d } from './max-pool2d.ts';
import type { LayerSpec, Module } from './module.ts';
import { ReLU } from './relu.ts';
import { LogSoftmax, Softmax } from './softmax.ts';
import { Sequential } from './sequential.ts';

/** Builds one layer from its spec; every layer type the weights file may name is here. */
export type LayerFactory = (spec: LayerSpec, rng?: Rng) => Module;

const factories = new Map<string, LayerFactory>();

/** Registers a layer type for specs (called once per layer module, below). */
export function registerLayer(type: string, factory: LayerFactory): void {
  factories.set(type, factory);
}

export function layerTypes(): string[] {
  return [...factories.keys()];
}

export function buildLayer(spec: LayerSpec, rng?: Rng): Module {
  const f = factories.get(spec.type);
  if (!f) throw new ConfigError(`unknown layer type ${JSON.stringify(spec.type)}`, `known types: ${layerTypes().join(', ')}`);
  return f(spec, rng);
}

export function buildModel(specs: readonly LayerSpec[], rng?: Rng): Sequential {
  return new Sequential(...specs.map((s) => buildLayer(s, rng)));
}

registerLayer('Linear', (s, rng) => new Linear(s.inFeatures as number, s.outFeatures as number, { bias: s.bias as boolean | undefined, rng }));
registerLayer('ReLU', () => new ReLU());
registerLayer('Flatten', (s) => new Flatten((s.startDim as number | undefined) ?? 1, (s.endDim as number | undefined) ?? -1));
registerLayer('Conv2d', (s, rng) =>
  new Conv2d(s.inChannels as number, s.outChannels as number, s.kernelSize as IntOrPair, {
    stride: s.stride as IntOrPair | undefined,
    padding: s.padding as Conv2dPadding | undefined,
    dilation: s.dilation as IntOrPair | undefined,
    groups: s.groups as number | undefined,
    bias: s.bias as boolean | undefined,
    rng,
  }));
registerLayer('MaxPool2d', (s) =>
  new MaxPool2d(s.kernelSize as IntOrPair, {
    stride: s.stride as IntOrPair | null | undefined,
    padding: s.padding as IntOrPair | undefined,
    dilation: s.dilation as IntOrPair | undefined,
    ceilMode: s.ceilMode as boolean | undefined,
  }));
registerLayer('Softmax', (s) => new Softmax((s.dim as number | undefined) ?? 1));
registerLayer('LogSoftmax', (s) => new LogSoftmax((s.dim as number | undefined) ?? 1));
registerLayer('Dropout', (s) => new Dropout((s.p as number | undefined) ?? 0.5));

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

export function parameterCount(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.value.size, 0);
}
