// Doubts about the ink the picture pipeline kept as "the digit": several digit-sized pieces side
// by side (a "37" would be squeezed into one 20×20 box), or ink covering a large part of the
// picture up to its edges (a dark half, a shadow, a photo of something else). Pure code.
import { labelRegions } from './image/regions.ts';

/** Ink at or above this level counts (the level image.ts's digitMask grows its cores from). */
const INK = 0.3;

export interface InkPiece {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  mass: number;
}

/** 8-connected pieces of the ink v ≥ INK in a w×h map, with their boxes [x0, x1) × [y0, y1). */
export function inkPieces(v: ArrayLike<number>, w: number, h: number): InkPiece[] {
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) mask[i] = v[i] >= INK ? 1 : 0;
  return labelRegions(mask, v, w, h).regions.map(({ x0, y0, x1, y1, mass }) => ({ x0, y0, x1, y1, mass }));
}

/**
 * Two or more pieces, each at least half as tall as all the ink together and holding a fair share
 * of it, that sit side by side (their columns barely overlap): probably more than one digit.
 * Broken strokes and the separate bar of a "5" overlap their digit's columns or are small.
 */
export function severalDigits(pieces: readonly InkPiece[]): boolean {
  if (pieces.length < 2) return false;
  const total = pieces.reduce((a, p) => a + p.mass, 0);
  const y0 = Math.min(...pieces.map((p) => p.y0)), y1 = Math.max(...pieces.map((p) => p.y1));
  const tall = pieces.filter((p) => p.y1 - p.y0 >= 0.5 * (y1 - y0) && p.mass >= 0.15 * total).sort((a, b) => a.x0 - b.x0);
  for (let i = 1; i < tall.length; i++) {
    const a = tall[i - 1], b = tall[i];
    const overlap = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
    if (overlap <= 0.2 * Math.min(a.x1 - a.x0, b.x1 - b.x0)) return true;
  }
  return false;
}

/** Where a w×h map lies in the whole picture, when it is a cut-out of it (no ink outside it). */
export interface Frame { x: number; y: number; width: number; height: number }

/**
 * Ink over more than 40% of the picture that reaches two or more of its edges: not a pen stroke
 * (a digit's strokes cover about 10–25% of a tight crop). A "1" filling the height of a tight
 * crop reaches two edges but covers little.
 */
export function notADigit(v: ArrayLike<number>, w: number, h: number, frame: Frame = { x: 0, y: 0, width: w, height: h }): boolean {
  let ink = 0;
  let top = false, bottom = false, left = false, right = false;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (v[y * w + x] < 0.5) continue;
      ink++;
      if (y + frame.y === 0) top = true;
      if (y + frame.y === frame.height - 1) bottom = true;
      if (x + frame.x === 0) left = true;
      if (x + frame.x === frame.width - 1) right = true;
    }
  }
  const edges = Number(top) + Number(bottom) + Number(left) + Number(right);
  return ink > 0.4 * frame.width * frame.height && edges >= 2;
}

/** The doubts to print next to the answer, for the ink kept as the digit (v: 0..1, w×h, lying at `frame` in the picture). */
export function inkWarnings(v: ArrayLike<number>, w: number, h: number, frame?: Frame): string[] {
  const out: string[] = [];
  if (notADigit(v, w, h, frame)) out.push('not a digit? the ink covers a large part of the picture, up to its edges');
  else if (severalDigits(inkPieces(v, w, h))) out.push('more than one digit? the ink forms separate digit-sized pieces side by side; mnist-predict reads one digit per picture');
  return out;
}
