// Stroke width: measuring it, and growing or shrinking strokes to MNIST's width.
import { distanceTo } from './filters.ts';
import { clamp01 } from './stats.ts';

/**
 * Mean stroke width of the ink (v ≥ 0.5) in pixels: twice the area over the perimeter (a stroke
 * of width w and length L has area wL and perimeter about 2L). The perimeter counts pixel edges
 * between ink and paper, times π/4 to undo the staircase of slanted edges.
 */
export function strokeWidth(v: Float32Array, w: number, h: number): number {
  let area = 0, edges = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (v[i] < 0.5) continue;
      area++;
      if (x === 0 || v[i - 1] < 0.5) edges++;
      if (x === w - 1 || v[i + 1] < 0.5) edges++;
      if (y === 0 || v[i - w] < 0.5) edges++;
      if (y === h - 1 || v[i + w] < 0.5) edges++;
    }
  }
  return edges ? (2 * area) / (edges * (Math.PI / 4)) : 0;
}

/**
 * Grows (r > 0) or shrinks (r < 0) the strokes by |r| pixels on each side, with a one-pixel
 * soft edge so the result stays antialiased. Distances run between pixel centres; the ink's
 * edge lies half a pixel beyond its outermost centres.
 */
export function adjustStroke(v: Float32Array, w: number, h: number, r: number): Float32Array {
  const out = new Float32Array(w * h);
  if (r >= 0) {
    const ink = new Uint8Array(w * h);
    for (let i = 0; i < ink.length; i++) ink[i] = v[i] >= 0.5 ? 1 : 0;
    const d = distanceTo(ink, w, h);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(v[i], clamp01(r + 1 - d[i]));
  } else {
    const paper = new Uint8Array(w * h);
    for (let i = 0; i < paper.length; i++) paper[i] = v[i] < 0.5 ? 1 : 0;
    const d = distanceTo(paper, w, h);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(v[i], clamp01(d[i] + r));
  }
  return out;
}
