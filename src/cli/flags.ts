// Parsers for numeric command-line flags: commander calls them, and their message follows
// "option '--x <n>' argument 'v' is invalid." on the one error line.
import { InvalidArgumentError } from 'commander';
import { type Limit, withinLimit } from '../weights/limits.ts';

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}
export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a non-negative integer.');
  return n;
}
export function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number greater than 0.');
  return n;
}
export function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0.');
  return n;
}
export function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a number in [0, 1).');
  return n;
}
export function portNumber(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port).');
  return n;
}

/** A parser for a flag whose range is in weights/limits.ts (the range the weights-file reader accepts). */
export function limited(l: Limit): (v: string) => number {
  return (v) => {
    const n = Number(v);
    const form = l.kind === 'int' ? /^\s*\d+\s*$/.test(v) : v.trim() !== '';
    if (!form || !withinLimit(n, l)) throw new InvalidArgumentError(`must be ${l.text}.`);
    return n;
  };
}

/** --min-accuracy: a percentage of the test set, "90" or "90%". */
export function percentage(v: string): number {
  const n = Number(v.trim().replace(/%$/, ''));
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a percentage from 0 to 100, e.g. 90 or 97.5.');
  return n;
}

/**
 * The --min-accuracy gate of a CI smoke test: the one line to print when `accuracy` (0..1)
 * falls short of `min` (percent), else undefined.
 */
export function belowMinimum(accuracy: number, min: number | undefined, what: string): string | undefined {
  // accuracy is a count ratio: 0.8837 * 100 may land just below 88.37, which must still pass
  if (min === undefined || accuracy * 100 + 1e-9 >= min) return undefined;
  return `${what} ${(accuracy * 100).toFixed(2)}% is below --min-accuracy ${min}%`;
}
