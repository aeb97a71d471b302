// What a layer type is, as data: its fields (types, defaults, limits), its --arch name and
// argument order, its shape rule, its parameters and how to build it. Each src/nn/<layer>.ts
// exports one LayerDescriptor beside its class; the --arch parser, the weights-file checks,
// --summary and the presets are generic code over the list in layers.ts.
import { ConfigError, ShapeError } from '../engine/errors.ts';
import type { Rng } from '../engine/rng.ts';
import type { LayerSpec, Module } from './module.ts';

/** Upper bounds by name ("channels", "kernel"…), supplied by whoever reads untrusted specs. */
export type Limits = Readonly<Record<string, number>>;

export interface FieldDef {
  /** int; pair: an int or an [h, w] pair of them (PyTorch's int-or-tuple sizes); number; bool. */
  kind: 'int' | 'pair' | 'number' | 'bool';
  /** Smallest value (each element of a pair). */
  min?: number;
  /** Largest value allowed anywhere (a probability's 1). */
  max?: number;
  /** Name of the bound in a Limits table; also applied as -bound below when `signed`. */
  limit?: string;
  signed?: boolean;
  /** Words accepted instead of a number ('same', 'valid'). */
  names?: readonly string[];
  /** null (PyTorch's None) is accepted and replaced by the default. */
  nullable?: boolean;
  /** The value when absent; a function of the fields before it (a pool's stride: its kernel). No default: required. */
  default?: unknown;
  /** How usage text shows a computed default ("kernel"). */
  defaultText?: string;
  /** Taken from the sample shape (no batch dimension) when building from --arch, never written there. */
  infer?: (sample: readonly number[]) => number;
  /** Its --arch keyword (default: the field name); false when --arch cannot set it. */
  arch?: string | false;
  /** How PyTorch's repr shows it: as a bare value, always as key=value, or only when not the default (the default). */
  repr?: 'positional' | 'always' | 'changed';
  /** Words for messages, overriding the ones made from kind and bounds ("a probability between 0 and 1"). */
  what?: string;
}

/** Building a layer: fresh weights from an RNG (the global seeded one when absent), or stored tensors. */
export type LayerSource = { rng?: Rng; state?: undefined } | { state: Readonly<Record<string, Float32Array>>; rng?: undefined };

/** Reports a spec's cross-field problem: names the field, what it should be, and what it is. */
export type Bad = (field: string, expected: string, found: unknown, hint?: string) => never;

export interface LayerDescriptor<S extends LayerSpec = LayerSpec> {
  /** PyTorch's class name, as stored in the weights file ("Conv2d"). */
  type: string;
  /** Its --arch name ("conv"). */
  arch: string;
  /** Field names in --arch's (and PyTorch's) positional order. */
  positional: readonly string[];
  /** Every field, in the order they are checked and stored; names are PyTorch's arguments in camelCase. */
  fields: Readonly<Record<string, FieldDef>>;
  /** What --arch requires before it: an image [C, H, W], a feature vector [F], or anything. */
  input: 'image' | 'features' | 'any';
  /** Checks between fields, after each field's own check. */
  check?(spec: S, bad: Bad): void;
  /** Output shape (batch dimension included) for an input shape; throws a ShapeError on a misfit. */
  outputShape(spec: S, inShape: readonly number[]): number[];
  /** Parameter names (state_dict suffixes) and shapes, in PyTorch's order. */
  params(spec: S): [string, number[]][];
  /** Saved tensors that are not learned (running statistics): names and shapes, after the parameters. */
  buffers?(spec: S): [string, number[]][];
  /** Builds the layer from a checked spec. */
  create(spec: S, from?: LayerSource): Module;
}

export type AnyDescriptor = LayerDescriptor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A field with a bad value. `expected` words it for a reader of the weights file (with the
 * Limits in force) or for a person ('arch', 'api'); callers place it (a JSON path, a token).
 */
export class LayerFieldError extends ConfigError {
  constructor(
    readonly layer: string,
    readonly field: string,
    readonly expected: (dialect: Dialect) => string,
    readonly found: unknown,
    hint?: string,
    /** The field is not one of the layer's. */
    readonly unknown = false,
  ) {
    super(unknown ? `${layer}: unknown argument ${field}` : `${layer}: ${field} must be ${expected('api')}, got ${fmtValue(found)}`, hint);
  }
}

/** A layer does not fit its input; `field` names the argument to blame (the kernel), when one is. */
export class FitError extends ShapeError {
  constructor(message: string, readonly field?: string, hint?: string) {
    super(message, hint);
  }
}

export type Dialect = 'json' | 'arch' | 'api';

/** A value as the messages show it: [3, 3], "full", 2.5. */
export function fmtValue(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(fmtValue).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** "3x3", or "3" when both are equal and `short` is set. */
export function fmtPair(p: readonly [number, number], short = false): string {
  return short && p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`;
}

function bounds(f: FieldDef, limits: Limits | undefined): [number, number] {
  const lim = f.limit !== undefined ? limits?.[f.limit] : undefined;
  const hi = Math.min(f.max ?? Infinity, lim ?? Infinity);
  const lo = f.signed && lim !== undefined ? -lim : (f.min ?? -Infinity);
  return [lo, hi];
}

function describe(f: FieldDef, lo: number, hi: number, d: Dialect): string {
  let s: string;
  if (d === 'json') {
    const range = Number.isFinite(hi) ? `${lo}..${hi}` : Number.isFinite(lo) ? `>= ${lo}` : '';
    if (f.kind === 'bool') s = 'true or false';
    else if (f.kind === 'number') s = range ? `a number ${range}` : 'a finite number';
    else s = range ? `an int ${range}` : 'an int';
    if (f.kind === 'pair') s += f.names ? `, [h, w], ${f.names.map((n) => JSON.stringify(n)).join(' or ')}` : ' or [h, w]';
    else if (f.names) s += `, ${f.names.map((n) => JSON.stringify(n)).join(' or ')}`;
  } else {
    if (f.what) return f.what;
    if (f.kind === 'bool') return 'true or false';
    if (f.kind === 'number') s = Number.isFinite(lo) && Number.isFinite(hi) ? `a number between ${lo} and ${hi}` : 'a finite number';
    else s = lo === 1 ? 'a positive integer' : lo === 0 ? 'a non-negative integer' : Number.isFinite(lo) ? `an integer >= ${lo}` : 'an integer';
    if (f.kind === 'pair') s += d === 'arch' ? ' or HxW of them' : ' or an [h, w] pair of them';
    if (f.names) s += `, ${f.names.map((n) => (d === 'arch' ? n : `'${n}'`)).join(' or ')}`;
  }
  return f.nullable && d === 'json' ? `${s} or null` : s;
}

/** The value of one field checked and normalised (pairs as [h, w]); undefined when it does not pass. */
function read(f: FieldDef, v: unknown, lo: number, hi: number): unknown {
  const intOk = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
  if (typeof v === 'string' && f.names?.includes(v)) return v;
  switch (f.kind) {
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : undefined;
    case 'int':
      return intOk(v) ? v : undefined;
    case 'pair':
      if (intOk(v)) return [v, v];
      return Array.isArray(v) && v.length === 2 && v.every(intOk) ? [v[0], v[1]] : undefined;
  }
}

/**
 * Checks an untrusted spec against its descriptor (every field's type and bounds, then the
 * cross-field checks) and returns a fresh spec with every field set, pairs as [h, w]. Throws a
 * LayerFieldError naming the first bad field. `limits` adds the bounds a weights file must keep.
 */
export function checkSpec<S extends LayerSpec>(d: LayerDescriptor<S>, raw: Readonly<Record<string, unknown>>, limits?: Limits): S {
  for (const k of Object.keys(raw)) {
    if (k !== 'type' && !Object.hasOwn(d.fields, k)) {
      throw new LayerFieldError(d.type, k, () => `one of ${Object.keys(d.fields).join(', ')}`, raw[k], undefined, true);
    }
  }
  const spec: LayerSpec = { type: d.type };
  for (const [name, f] of Object.entries(d.fields)) {
    let v = Object.hasOwn(raw, name) ? raw[name] : undefined;
    const [lo, hi] = bounds(f, limits);
    if (v === undefined || (v === null && f.nullable)) {
      if (!Object.hasOwn(f, 'default')) throw new LayerFieldError(d.type, name, (dl) => describe(f, lo, hi, dl), v);
      v = defaultOf(f, spec);
      spec[name] = Array.isArray(v) ? [...v] : f.kind === 'pair' && typeof v === 'number' ? [v, v] : v;
      continue;
    }
    const ok = read(f, v, lo, hi);
    if (ok === undefined) throw new LayerFieldError(d.type, name, (dl) => describe(f, lo, hi, dl), v);
    spec[name] = ok;
  }
  d.check?.(spec as S, (field, expected, found, hint) => {
    // the value as given (3), not as normalised ([3, 3])
    throw new LayerFieldError(d.type, field, () => expected, Object.hasOwn(raw, field) ? raw[field] : found, hint);
  });
  return spec as S;
}

/** The usage line --arch shows: "conv(out, kernel, stride=1, padding=0|same|valid, …)". */
export function archUsage(d: AnyDescriptor): string {
  const args: string[] = [];
  for (const [name, f] of Object.entries(d.fields)) {
    if (f.arch === false || f.infer) continue;
    const key = f.arch ?? name;
    if (d.positional.includes(name) && !Object.hasOwn(f, 'default')) {
      args.push(key);
      continue;
    }
    const dflt = f.defaultText ?? (f.default === null ? 'none' : Array.isArray(f.default) ? fmtPair(f.default as [number, number], true) : String(f.default));
    args.push(`${key}=${[dflt, ...(f.names ?? [])].join('|')}`);
  }
  const sizes = Object.values(d.fields).some((f) => f.kind === 'pair' && f.arch !== false) ? ', sizes N or HxW' : '';
  return args.length === 0 ? d.arch : `${d.arch}(${args.join(', ')})${sizes}`;
}

/** camelCase to PyTorch's snake_case argument name. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function sameValue(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b;
}

/** The default a field has in `spec` (computed defaults see the spec's other fields). */
function defaultOf(f: FieldDef, spec: LayerSpec): unknown {
  return typeof f.default === 'function' ? (f.default as (s: LayerSpec) => unknown)(spec) : f.default;
}

/** Whether a field of `spec` holds its default value (a pair [3, 3] equals a default of 3). */
export function isDefault(f: FieldDef, spec: LayerSpec, name: string): boolean {
  if (!Object.hasOwn(f, 'default')) return false;
  const d = defaultOf(f, spec), v = spec[name];
  if (f.kind === 'pair' && typeof d === 'number') return sameValue(v, [d, d]) || v === d;
  return sameValue(v, d);
}

/** PyTorch's repr of a spec, arguments at their defaults left out: "Conv2d(1, 16, kernel_size=3, padding=1)". */
export function reprSpec(d: AnyDescriptor, spec: LayerSpec): string {
  const show = (v: unknown): string => {
    if (typeof v === 'boolean') return v ? 'True' : 'False';
    if (v === null) return 'None';
    if (Array.isArray(v)) return v.length === 2 && v[0] === v[1] ? String(v[0]) : `(${v.join(', ')})`;
    return String(v);
  };
  const args: string[] = [];
  for (const [name, f] of Object.entries(d.fields)) {
    const v = spec[name];
    if (v === undefined) continue;
    const mode = f.repr ?? 'changed';
    if (mode === 'positional') args.push(show(v));
    else if (mode === 'always' || !isDefault(f, spec, name)) args.push(`${snake(name)}=${show(v)}`);
  }
  return `${d.type}(${args.join(', ')})`;
}

/**
 * The descriptor of a layer without parameters whose output has its input's shape (ReLU, Tanh…):
 * everything but its names, fields and constructor is the same for all of them.
 */
export function shapeKeepingLayer<S extends LayerSpec = LayerSpec>(
  type: string, arch: string, create: (spec: S) => Module, fields: Record<string, FieldDef> = {}, positional: readonly string[] = [],
): LayerDescriptor<S> {
  return { type, arch, positional, input: 'any', fields, outputShape: (_, inShape) => [...inShape], params: () => [], create };
}
