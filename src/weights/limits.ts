// The one table of limits for a run's settings: mnist-train's flags accept exactly these ranges
// and the weights-file reader (--resume, mnist-eval, mnist-predict) checks the stored fields
// against the same entries, so every file the tool writes is a file it reads back.
import { fail } from './json-fields.ts';

/** An inclusive range of an int or a finite number, with the words both sides print. */
export interface Limit {
  kind: 'int' | 'num';
  min: number;
  max: number;
  /** "an integer 1..1000000", "a number > 0 and <= 1e9" */
  text: string;
}

const int = (min: number, max: number, text = `an integer ${min}..${max}`): Limit => ({ kind: 'int', min, max, text });
const num = (min: number, max: number, text: string): Limit => ({ kind: 'num', min, max, text });

/** Largest double below 1: the inclusive form of "< 1". */
const BELOW_ONE = 1 - 2 ** -53;

/** The largest weights file the reader takes (and so the largest the trainer may write). */
export const MAX_WEIGHTS_BYTES = 512 * 1024 * 1024;

export const RUN_LIMITS = {
  epochs: int(1, 1_000_000),
  batchSize: int(1, 1 << 20),
  stepSize: int(1, 1_000_000),
  /** The cosine schedule's length: an epoch count. */
  tMax: int(1, 1_000_000),
  lr: num(Number.MIN_VALUE, 1e9, 'a number > 0 and <= 1e9'),
  gamma: num(Number.MIN_VALUE, 1e9, 'a number > 0 and <= 1e9'),
  weightDecay: num(0, 1e9, 'a number 0..1e9'),
  momentum: num(0, BELOW_ONE, 'a number in [0, 1)'),
  /** The generator (sfc32 seeded through splitmix32) takes 32 bits: every seed names a different run. */
  seed: int(0, 2 ** 32 - 1),
  limit: int(1, 2 ** 31),
  testLimit: int(1, 2 ** 31),
  threads: int(1, 1024),
  logEvery: int(1, 2 ** 31),
} as const satisfies Record<string, Limit>;

/** True when v is a value the limit accepts. */
export function withinLimit(v: unknown, l: Limit): v is number {
  return typeof v === 'number' && Number.isFinite(v) && (l.kind === 'num' || Number.isInteger(v)) && v >= l.min && v <= l.max;
}

/** Reads a stored setting: the value when the limit accepts it, else `path: expected …, found …`. */
export function readLimited(v: unknown, path: string, l: Limit): number {
  if (!withinLimit(v, l)) fail(path, l.text, v);
  return v;
}
