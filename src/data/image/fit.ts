// From the ink kept as the digit (a map of 0..1) to the model's 28×28 input: its extent, its
// stroke brought to MNIST's width, the longer side area-averaged to 20 pixels, centred by mass.
import { extent } from './ink.ts';
import { BOX, centreByMass, resampleArea } from './resample.ts';
import { round2 } from './stats.ts';
import { adjustStroke, strokeWidth } from './stroke.ts';

export interface StrokeOptions { targetStroke: number; minStroke: number; maxStroke: number }

export type Fitted =
  | { pixels: Uint8Array; box: { x0: number; y0: number; x1: number; y1: number }; stroke: number; strokeAdjusted: number }
  | { pixels?: undefined; reason: string };

/**
 * Fits the ink `v` (w×h, changed in place when its stroke is adjusted) to 28×28. `box` is the
 * ink's extent before any adjustment; ink whose longer side is under `speck` pixels is a speck.
 */
export function fitInk(v: Float32Array, w: number, h: number, speck: number, o: StrokeOptions): Fitted {
  const found = extent(v, w, h, 0.5);
  if (!found) return { reason: 'no digit found' };
  const longSide = Math.max(found.x1 - found.x0, found.y1 - found.y0);
  if (longSide < speck) return { reason: 'no digit found: only a speck of ink' };

  // stroke width, in 28×28 pixels once fitted to the box; thin strokes (a pen on a big canvas)
  // would fade to grey under area averaging, so bring them to MNIST's width
  let box = found;
  const width = strokeWidth(v, w, h);
  const stroke = (width * BOX) / longSide;
  let adjusted = stroke;
  if (stroke < o.minStroke || stroke > o.maxStroke) {
    const target = stroke < o.minStroke ? o.targetStroke : o.maxStroke;
    // choose r (pixels per side) so that (width + 2r) * BOX / (longSide + 2r) = target
    const r = (target * longSide - BOX * width) / (2 * (BOX - target));
    const v2 = adjustStroke(v, w, h, r);
    const box2 = extent(v2, w, h, 0.5);
    if (box2) {
      v.set(v2);
      box = box2;
      adjusted = (strokeWidth(v, w, h) * BOX) / Math.max(box.x1 - box.x0, box.y1 - box.y0);
    }
  }

  // fit the longer side to 20 pixels (area averaging), aligned to the pixel grid as in MNIST
  const side = Math.max(box.x1 - box.x0, box.y1 - box.y0);
  const cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2;
  const fitted = resampleArea(v, w, h, cx - side / 2, cy - side / 2, side, BOX);
  return { pixels: centreByMass(fitted, BOX), box: found, stroke: round2(stroke), strokeAdjusted: round2(adjusted) };
}

/**
 * How far thickening can reach beyond the ink, for a digit whose longer side is `longSide`: at
 * most targetStroke/(2·(BOX − targetStroke)) of it, plus the soft edge. A cut-out with this
 * margin fits the digit exactly as the whole picture would.
 */
export function fitMargin(longSide: number, o: StrokeOptions): number {
  return Math.ceil((o.targetStroke * longSide) / (2 * (BOX - o.targetStroke))) + 3;
}

/** A box in working pixels as a box in the source picture (`k` source pixels a working pixel). */
export function sourceBox(box: { x0: number; y0: number; x1: number; y1: number }, k: number, width: number, height: number): { x: number; y: number; width: number; height: number } {
  const x = Math.round(box.x0 * k), y = Math.round(box.y0 * k);
  return { x, y, width: Math.min(width, Math.round(box.x1 * k)) - x, height: Math.min(height, Math.round(box.y1 * k)) - y };
}
