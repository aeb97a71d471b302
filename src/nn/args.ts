// Validation of layer hyper-parameters given PyTorch's way: an int meaning the same for height
// and width, or an [h, w] pair. Shared by Conv2d and MaxPool2d.
import { ConfigError } from '../engine/errors.ts';

export type IntOrPair = number | readonly [number, number] | readonly number[];

function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(show).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Returns v as an [h, w] pair of integers >= min, or throws a ConfigError naming the layer,
 * the argument and the bad value.
 */
export function intPair(op: string, name: string, v: unknown, min: number): [number, number] {
  const p = Array.isArray(v) ? v : [v, v];
  const ok = p.length === 2 && p.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min);
  if (!ok) {
    const want = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new ConfigError(`${op}: ${name} must be ${want} or an [h, w] pair of them, got ${show(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

/** "3x3", or "3" style when both are equal and `short` is set. */
export function fmtPair(p: readonly [number, number], short = false): string {
  return short && p[0] === p[1] ? `${p[0]}` : `${p[0]}x${p[1]}`;
}

export { show as fmtValue };
