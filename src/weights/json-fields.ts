// Reading untrusted JSON (weights files people share): a parse that takes only an object, the
// refusal of deep nesting and prototype keys, and typed field readers whose errors name the field
// (`model.layers[3].kernelSize`).
import { CheckpointError } from './errors.ts';

/** Deeper than any weights file needs (about 7 levels), shallow enough to walk recursively. */
export const MAX_DEPTH = 32;

// NOTE: JSON.parse makes "__proto__" an own property (harmless by itself), but code that later
// copies or merges the object would set a prototype; such keys are refused outright.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const HINT = 'is this a weights file written by mnist-train?';

/**
 * Parses a document that must be a JSON object, and nothing more: the caller's field-by-field
 * check is the one walk over it, and calls refuseHostile on what it reads free-form.
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = text.search(/\S/);
  if (first < 0) throw new CheckpointError('the file is empty', HINT);
  if (text[first] !== '{') throw new CheckpointError(`not a weights file: expected a JSON object, the file starts with ${describeStart(text.slice(first))}`, HINT);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointError(`not valid JSON (${printable((err as Error).message, 120)})`, 'the file is truncated or corrupt; use the last complete copy');
  }
}

/** Parses a document that must be a JSON object, refusing nesting beyond maxDepth and prototype keys. */
export function parseUntrustedJson(text: string, maxDepth = MAX_DEPTH): Record<string, unknown> {
  const doc = parseJsonObject(text);
  refuseHostile(doc, '', 0, maxDepth);
  return doc;
}

/**
 * Throws on the first prototype key or nesting past maxDepth anywhere below `v` (a value `depth`
 * levels into its document, at `path`).
 */
export function refuseHostile(v: unknown, path = '', depth = 0, maxDepth = MAX_DEPTH): void {
  if (typeof v !== 'object' || v === null) return;
  if (depth >= maxDepth) {
    const cut = path.lastIndexOf('[', 60);
    const where = path.length > 60 && cut > 0 ? `${path.slice(0, cut)}…` : path || 'document';
    throw new CheckpointError(`${where}: nested deeper than ${maxDepth} levels`);
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (typeof e === 'object' && e !== null) refuseHostile(e, `${path}[${i}]`, depth + 1, maxDepth);
    }
    return;
  }
  for (const k of Object.keys(v)) {
    const p = safeKey(k, path);
    refuseHostile((v as Record<string, unknown>)[k], p, depth + 1, maxDepth);
  }
}

/** The path of field `key` below `path`; throws when the key is one that could reach a prototype. */
export function safeKey(key: string, path: string): string {
  const p = join(path, key);
  if (FORBIDDEN_KEYS.has(key)) throw new CheckpointError(`${p}: the key ${JSON.stringify(key)} is not allowed in a weights file`);
  return p;
}

/** `a.b`, `a["1.weight"]` for keys that are not identifiers. */
export function join(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(printable(key, 40))}]`;
}

/** Escapes control and non-ASCII characters and truncates, so a message stays on one line. */
export function printable(s: string, max: number): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[^\x20-\x7e…]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function describeStart(s: string): string {
  const head = s.slice(0, 16);
  if (/^[\x20-\x7e]+$/.test(head)) return JSON.stringify(head);
  const bytes = [...head.slice(0, 8)].map((ch) => (ch.charCodeAt(0) & 0xff).toString(16).padStart(2, '0'));
  return `bytes ${bytes.join(' ')} (binary data?)`;
}

/** A value as a message shows it: -2, "abc", Infinity, null, a list of 3 items, an object, nothing. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `${v} (not a finite number)`;
  if (typeof v === 'string') return JSON.stringify(printable(v, 40));
  if (Array.isArray(v)) {
    if (v.length <= 4 && v.every((e) => typeof e === 'number' || typeof e === 'boolean' || e === null)) return `[${v.join(', ')}]`;
    return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  }
  return 'an object';
}

/** Throws `path: expected …, found …`. */
export function fail(path: string, expected: string, found: unknown): never {
  throw new CheckpointError(`${path}: expected ${expected}, found ${show(found)}`);
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property only: never one inherited from Object.prototype (toString, constructor…). */
export function get(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export function obj(v: unknown, path: string, what = 'an object'): Obj {
  if (!isObj(v)) fail(path, what, v);
  return v;
}

/** Refuses any key outside `allowed` (fields we would otherwise silently ignore). */
export function onlyKeys(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new CheckpointError(`${join(path, k)}: unknown field (expected only ${allowed.join(', ')})`);
  }
}

export function int(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(path, `an int ${lo}..${hi}`, v);
  return v;
}

export function num(v: unknown, path: string, lo: number, hi: number, what = describeRange(lo, hi)): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) fail(path, what, v);
  return v;
}

function describeRange(lo: number, hi: number): string {
  if (hi === Number.MAX_VALUE) return lo === -Number.MAX_VALUE ? 'a finite number' : `a finite number >= ${lo}`;
  return `a number ${lo}..${hi}`;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'true or false', v);
  return v;
}

export function str(v: unknown, path: string, maxLen: number): string {
  if (typeof v !== 'string' || v.length > maxLen) fail(path, `a string of at most ${maxLen} characters`, v);
  return v;
}

export function list(v: unknown, path: string, minLen: number, maxLen: number): unknown[] {
  if (!Array.isArray(v) || v.length < minLen || v.length > maxLen) fail(path, `a list of ${minLen}..${maxLen} items`, v);
  return v;
}

/** An RNG state: four unsigned 32-bit integers. */
export function u32x4(v: unknown, path: string): [number, number, number, number] {
  const a = list(v, path, 4, 4);
  a.forEach((x, i) => int(x, `${path}[${i}]`, 0, 0xffffffff));
  return [a[0], a[1], a[2], a[3]] as [number, number, number, number];
}
