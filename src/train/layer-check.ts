// Validation of the layer specs in an untrusted weights file: each layer type's hyper-parameters
// against sane ranges, and the parameter shapes the specs imply, all before any layer is built.
import type { LayerSpec } from '../nn/module.ts';
import { CheckpointError } from './errors.ts';
import { bool, fail, get, int, intOrPair, join, num, obj, onlyKeys, type Obj } from './json-fields.ts';

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

type Check = (o: Obj, p: string) => { spec: LayerSpec; params: [string, number[]][] };

const pairOf = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** Optional field: its value when present, else the default. */
function opt<T>(o: Obj, key: string, dflt: T, read: (v: unknown, p: string) => T, p: string): T {
  const v = get(o, key);
  return v === undefined ? dflt : read(v, `${p}.${key}`);
}

const CHECKS: Record<string, Check> = {
  Linear(o, p) {
    onlyKeys(o, p, ['type', 'inFeatures', 'outFeatures', 'bias']);
    const inFeatures = int(get(o, 'inFeatures'), `${p}.inFeatures`, 1, LIMITS.features);
    const outFeatures = int(get(o, 'outFeatures'), `${p}.outFeatures`, 1, LIMITS.features);
    const bias = opt(o, 'bias', true, bool, p);
    const params: [string, number[]][] = [['weight', [outFeatures, inFeatures]]];
    if (bias) params.push(['bias', [outFeatures]]);
    return { spec: { type: 'Linear', inFeatures, outFeatures, bias }, params };
  },
  Conv2d(o, p) {
    onlyKeys(o, p, ['type', 'inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias']);
    const inChannels = int(get(o, 'inChannels'), `${p}.inChannels`, 1, LIMITS.channels);
    const outChannels = int(get(o, 'outChannels'), `${p}.outChannels`, 1, LIMITS.channels);
    const kernelSize = intOrPair(get(o, 'kernelSize'), `${p}.kernelSize`, 1, LIMITS.kernel);
    const stride = opt(o, 'stride', 1 as number | [number, number], (v, q) => intOrPair(v, q, 1, LIMITS.stride), p);
    const dilation = opt(o, 'dilation', 1 as number | [number, number], (v, q) => intOrPair(v, q, 1, LIMITS.dilation), p);
    const pv = get(o, 'padding');
    let padding: number | [number, number] | 'same' | 'valid' = 0;
    if (pv === 'same' || pv === 'valid') padding = pv;
    else if (pv !== undefined) {
      const ok = typeof pv === 'number' || Array.isArray(pv);
      padding = ok ? intOrPair(pv, `${p}.padding`, 0, LIMITS.padding) : fail(`${p}.padding`, `an int 0..${LIMITS.padding}, [h, w], "same" or "valid"`, pv);
    }
    if (padding === 'same' && pairOf(stride).some((s) => s !== 1)) fail(`${p}.padding`, 'a number: "same" needs stride 1', pv);
    const groups = opt(o, 'groups', 1, (v, q) => int(v, q, 1, LIMITS.channels), p);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      fail(`${p}.groups`, `a divisor of inChannels ${inChannels} and outChannels ${outChannels}`, groups);
    }
    const bias = opt(o, 'bias', true, bool, p);
    const [kH, kW] = pairOf(kernelSize);
    const params: [string, number[]][] = [['weight', [outChannels, inChannels / groups, kH, kW]]];
    if (bias) params.push(['bias', [outChannels]]);
    return { spec: { type: 'Conv2d', inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias }, params };
  },
  MaxPool2d(o, p) {
    onlyKeys(o, p, ['type', 'kernelSize', 'stride', 'padding', 'dilation', 'ceilMode']);
    const kernelSize = intOrPair(get(o, 'kernelSize'), `${p}.kernelSize`, 1, LIMITS.kernel);
    const sv = get(o, 'stride');
    const stride = sv === undefined || sv === null ? null : intOrPair(sv, `${p}.stride`, 1, LIMITS.stride);
    const padding = opt(o, 'padding', 0 as number | [number, number], (v, q) => intOrPair(v, q, 0, LIMITS.padding), p);
    const [kH, kW] = pairOf(kernelSize), [pH, pW] = pairOf(padding);
    if (pH > Math.floor(kH / 2) || pW > Math.floor(kW / 2)) fail(`${p}.padding`, `at most half the kernel size (${kH}x${kW})`, get(o, 'padding'));
    const dilation = opt(o, 'dilation', 1 as number | [number, number], (v, q) => intOrPair(v, q, 1, LIMITS.dilation), p);
    const ceilMode = opt(o, 'ceilMode', false, bool, p);
    return { spec: { type: 'MaxPool2d', kernelSize, stride, padding, dilation, ceilMode }, params: [] };
  },
  ReLU(o, p) {
    onlyKeys(o, p, ['type']);
    return { spec: { type: 'ReLU' }, params: [] };
  },
  Flatten(o, p) {
    onlyKeys(o, p, ['type', 'startDim', 'endDim']);
    const startDim = opt(o, 'startDim', 1, (v, q) => int(v, q, -LIMITS.dim, LIMITS.dim), p);
    const endDim = opt(o, 'endDim', -1, (v, q) => int(v, q, -LIMITS.dim, LIMITS.dim), p);
    return { spec: { type: 'Flatten', startDim, endDim }, params: [] };
  },
  Softmax: softmaxCheck('Softmax'),
  LogSoftmax: softmaxCheck('LogSoftmax'),
  Dropout(o, p) {
    onlyKeys(o, p, ['type', 'p']);
    const prob = opt(o, 'p', 0.5, (v, q) => num(v, q, 0, 1), p);
    return { spec: { type: 'Dropout', p: prob }, params: [] };
  },
};

function softmaxCheck(type: string): Check {
  return (o, p) => {
    onlyKeys(o, p, ['type', 'dim']);
    const dim = opt(o, 'dim', 1, (v, q) => int(v, q, -LIMITS.dim, LIMITS.dim), p);
    return { spec: { type, dim }, params: [] };
  };
}

/**
 * A layer type registered by another module that this file has no table for: only plain values
 * (finite numbers within the feature limit, booleans, short strings, short lists of those) are
 * accepted; its constructor checks the rest, and its parameters are checked after it is built.
 */
function genericCheck(o: Obj, p: string): LayerSpec {
  const spec: LayerSpec = { type: o.type as string };
  const plain = (v: unknown) =>
    v === null || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 64) ||
    (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= LIMITS.features);
  for (const k of Object.keys(o)) {
    if (k === 'type') continue;
    const v = o[k];
    if (plain(v)) spec[k] = v;
    else if (Array.isArray(v) && v.length <= 8 && v.every(plain)) spec[k] = [...v];
    else fail(join(p, k), 'a number, boolean, short string or short list', v);
  }
  return spec;
}

/** Layer types this file validates field by field (others fall back to a generic check). */
export function checkedLayerTypes(): string[] {
  return Object.keys(CHECKS);
}

/**
 * Validates `model.layers` against the known layer types and LIMITS. Returns fresh spec objects
 * (never the parsed ones) and the parameter shapes of the layers this file knows.
 */
export function checkLayers(v: unknown, path: string, knownTypes: readonly string[]): { specs: LayerSpec[]; params: ParamShape[]; complete: boolean } {
  if (!Array.isArray(v) || v.length < 1 || v.length > LIMITS.layers) fail(path, `a list of 1..${LIMITS.layers} layers`, v);
  const specs: LayerSpec[] = [];
  const params: ParamShape[] = [];
  let total = 0;
  let complete = true;
  v.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = obj(item, p, 'a layer object such as {"type": "Linear", ...}');
    const type = get(o, 'type');
    if (typeof type !== 'string' || !knownTypes.includes(type)) fail(`${p}.type`, `one of ${knownTypes.join(', ')}`, type);
    const check = Object.hasOwn(CHECKS, type) ? CHECKS[type] : undefined;
    if (!check) {
      specs.push(genericCheck(o, p));
      complete = false;
      return;
    }
    const r = check(o, p);
    specs.push(r.spec);
    for (const [name, shape] of r.params) {
      const n = shape.reduce((a, b) => a * b, 1);
      total += n;
      if (total > LIMITS.params) {
        throw new CheckpointError(`${p}: ${type} with ${name} ${JSON.stringify(shape)} takes the model past ${LIMITS.params.toLocaleString('en-US')} parameters, the limit for a weights file`);
      }
      params.push({ key: `${i}.${name}`, shape });
    }
  });
  return { specs, params, complete };
}
