// The layer types this engine knows, one descriptor each (see layer.ts). Adding a layer is one
// new file beside these, its import here and its entry in LAYERS.
import { avgPool2dLayer } from './avg-pool2d.ts';
import { batchNorm1dLayer, batchNorm2dLayer } from './batchnorm.ts';
import { conv2dLayer } from './conv2d.ts';
import { dropoutLayer } from './dropout.ts';
import { flattenLayer } from './flatten.ts';
import type { AnyDescriptor } from './layer.ts';
import { leakyReluLayer } from './leaky-relu.ts';
import { linearLayer } from './linear.ts';
import { maxPool2dLayer } from './max-pool2d.ts';
import { reluLayer } from './relu.ts';
import { sigmoidLayer } from './sigmoid.ts';
import { logSoftmaxLayer, softmaxLayer } from './softmax.ts';
import { tanhLayer } from './tanh.ts';

/** In --arch's help order. */
export const LAYERS: readonly AnyDescriptor[] = [
  conv2dLayer,
  maxPool2dLayer,
  linearLayer,
  dropoutLayer,
  reluLayer,
  flattenLayer,
  softmaxLayer,
  logSoftmaxLayer,
  avgPool2dLayer,
  leakyReluLayer,
  tanhLayer,
  sigmoidLayer,
  batchNorm2dLayer,
  batchNorm1dLayer,
];

const byType = new Map(LAYERS.map((d) => [d.type, d]));
const byArch = new Map(LAYERS.map((d) => [d.arch, d]));

/** The descriptor of a weights-file type name ("Conv2d"), if there is one. */
export function layerByType(type: string): AnyDescriptor | undefined {
  return byType.get(type);
}

/** The descriptor of an --arch name ("conv"), if there is one. */
export function layerByArch(name: string): AnyDescriptor | undefined {
  return byArch.get(name);
}
