// Doubts about a picture's ink (issue 11, case 8): two MNIST digits side by side ("72") say
// "more than one digit?", a half-black square says "not a digit?", a single digit says nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/data/image.ts';
import { inkPieces, inkWarnings, notADigit, severalDigits } from '../../src/data/ink-shape.ts';
import type { Split } from '../../src/data/sources.ts';
import { canvas, digit, mnistTest } from './image-fixtures.ts';

/** Dark ink (coverage 0..1) on white paper, as an RGBA picture. */
function onPaper(cov: Float32Array, width: number, height: number) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < cov.length; i++) {
    const g = Math.round(255 * (1 - cov[i]));
    data.set([g, g, g, 255], i * 4);
  }
  return { width, height, data };
}

/** A map from rows of '#' (ink) and '.' (paper). */
function map(rows: string[]): { v: Float32Array; w: number; h: number } {
  const w = rows[0].length, h = rows.length;
  return { v: Float32Array.from(rows.join(''), (ch) => (ch === '#' ? 1 : 0)), w, h };
}

describe('ink-shape on hand-drawn maps', () => {
  it('two tall pieces side by side are several digits; a "5" with its bar apart is one', () => {
    const two = map([
      '..........',
      '.##...###.',
      '..#.....#.',
      '..#....#..',
      '..#...#...',
      '.###..#...',
    ]);
    expect(inkPieces(two.v, two.w, two.h)).toHaveLength(2);
    expect(severalDigits(inkPieces(two.v, two.w, two.h))).toBe(true);
    const five = map([
      '..####',
      '......',
      '.#....',
      '.####.',
      '.....#',
      '.####.',
    ]);
    expect(inkPieces(five.v, five.w, five.h).length).toBeGreaterThan(1);
    expect(severalDigits(inkPieces(five.v, five.w, five.h))).toBe(false);
  });

  it('ink over half the picture up to three edges is not a digit; a tight "1" touching two edges is', () => {
    const half = map(['###...', '###...', '###...', '###...']);
    expect(notADigit(half.v, half.w, half.h)).toBe(true);
    const one = map(['..#...', '..#...', '..#...', '..#...']);
    expect(notADigit(one.v, one.w, one.h)).toBe(false);
    expect(inkWarnings(one.v, one.w, one.h)).toEqual([]);
  });
});

describe('mnist-predict\'s pipeline reports the doubts with the prepared picture', () => {
  let test: Split;
  beforeAll(async () => {
    test = await mnistTest();
  }, 120_000);

  it('a "72" written side by side: more than one digit?', () => {
    const a = canvas(digit(test, 0), 5, 320, 180, 10, 20);
    const b = canvas(digit(test, 1), 5, 320, 180, 160, 20);
    const cov = a.map((v, i) => Math.max(v, b[i]));
    const pre = preprocessImage(onPaper(cov, 320, 180));
    expect(pre.pixels).toBeDefined();
    expect(pre.info.warnings).toEqual([expect.stringMatching(/^more than one digit\?/)]);
  });

  it('a half-black square: not a digit?', () => {
    const cov = Float32Array.from({ length: 120 * 120 }, (_, i) => (i % 120 < 60 ? 1 : 0));
    const pre = preprocessImage(onPaper(cov, 120, 120));
    expect(pre.info.warnings).toEqual([expect.stringMatching(/^not a digit\?/)]);
  });

  it('one digit on a page: no doubts', () => {
    for (const i of [0, 1, 2, 3, 4]) {
      const pre = preprocessImage(onPaper(canvas(digit(test, i), 6, 220, 200, 30, 20), 220, 200));
      expect(pre.pixels).toBeDefined();
      expect(pre.info.warnings, `test digit ${i}`).toBeUndefined();
    }
  });
});
