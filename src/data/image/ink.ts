// Which pixels are the digit in a crop: connected components of the ink, the largest and its
// neighbours, grown through their faint edges; and the extent of ink.
import { floodStack, groupAround, labelRegions } from './regions.ts';

/**
 * Marks the digit: 8-connected components of the ink cores (v ≥ 0.3); the one with the most
 * ink, plus components close to it (a "5" whose top bar does not touch, a broken stroke) or half
 * as heavy; then the faint edges connected to those. Specks elsewhere are dropped.
 */
export function digitMask(v: Float32Array, w: number, h: number): Uint8Array | undefined {
  const n = w * h;
  const core = new Uint8Array(n);
  for (let i = 0; i < n; i++) core[i] = v[i] >= 0.3 ? 1 : 0;
  const { label, regions } = labelRegions(core, v, w, h);
  if (regions.length === 0) return undefined;
  let best = regions[0];
  for (const c of regions) if (c.mass > best.mass) best = c;
  const kept = groupAround(regions, best, (c) => c.mass >= 0.5 * best.mass);
  // grow the kept cores through the faint pixels around them (antialiased edges)
  const keep = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  for (let i = 0; i < n; i++) {
    if (label[i] >= 0 && kept.has(label[i])) {
      keep[i] = 1;
      stack[sp++] = i;
    }
  }
  floodStack(stack, sp, w, h, undefined, (j) => {
    if (keep[j] || v[j] <= 0 || label[j] !== -1) return false;
    keep[j] = 1;
    return true;
  });
  return keep;
}

/** Bounding box [x0, x1) × [y0, y1) of the pixels ≥ t: the geometric extent of antialiased ink. */
export function extent(v: Float32Array, w: number, h: number, t: number): { x0: number; y0: number; x1: number; y1: number } | undefined {
  let x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (v[y * w + x] >= t) {
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y >= y1) y1 = y + 1;
      }
    }
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : undefined;
}
