// The numeric flag parsers: what they accept, and the message commander puts after the flag.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../../src/cli/flags.ts';

describe('flag parsers', () => {
  it('accept what their names say', () => {
    expect([positiveInt('64'), nonNegativeInt('0'), positiveNumber('1e-3'), nonNegativeNumber('0'), fraction('0.9')]).toEqual([64, 0, 0.001, 0, 0.9]);
  });

  it.each([
    [positiveInt, '0', 'must be a positive integer.'],
    [positiveInt, '2.5', 'must be a positive integer.'],
    [positiveInt, '1e3', 'must be a positive integer.'],
    [nonNegativeInt, '-1', 'must be a non-negative integer.'],
    [positiveNumber, '-1', 'must be a number greater than 0.'],
    [positiveNumber, '', 'must be a number greater than 0.'],
    [nonNegativeNumber, 'abc', 'must be a number >= 0.'],
    [fraction, '1', 'must be a number in [0, 1).'],
  ] as const)('%o refuses %o', (parse, v, message) => {
    expect(() => parse(v)).toThrow(InvalidArgumentError);
    expect(() => parse(v)).toThrow(message);
  });
});
