// The --errors contact sheet: hand-counted geometry, images placed in their cells, captions drawn.
import { describe, expect, it } from 'vitest';
import { contactSheet, scaleNearest } from '../../src/report/contact-sheet.ts';

describe('contactSheet', () => {
  it('lays two 2x3 tiles side by side, each over a white caption strip reading "true>pred"', () => {
    const a = Uint8Array.from([10, 11, 12, 13, 14, 15]), b = Uint8Array.from([20, 21, 22, 23, 24, 25]);
    const s = contactSheet([{ image: a, top: 7, bottom: 1 }, { image: b, top: 0, bottom: 9 }], 2, 3);
    // 2 per row (ceil √2.4); cells 3+2 wide and 2+8+2 high, plus the outer 2-pixel margin
    expect([s.width, s.height]).toEqual([12, 14]);
    const at = (x: number, y: number) => s.pixels[y * s.width + x];
    expect([at(2, 2), at(4, 2), at(2, 3), at(4, 3)]).toEqual([10, 12, 13, 15]);
    expect([at(7, 2), at(9, 3)]).toEqual([20, 25]);
    expect(at(0, 0)).toBe(96); // the grey background
    // caption rows start under the image (y = 4); the glyphs' top row is 2 below: "7" is ###, first pixel at x = 3
    expect(at(2, 4)).toBe(255);
    expect([at(3, 6), at(4, 6)]).toEqual([0, 0]);
  });

  it('scaleNearest turns each pixel into an f×f block', () => {
    expect([...scaleNearest(Uint8Array.from([1, 2]), 2, 1, 2)]).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });
});
