// Printed structure on the paper: ruled lines, a margin, grid lines. They are long, thin and
// straight, span most of the page and are paler than the ink; found by projecting the dark-ink
// map along a few angles near horizontal and vertical, and removed before the ink is segmented.

/** Angles tried, in radians either side of the axis (a page photographed a little askew). */
const ANGLES = Array.from({ length: 13 }, (_, i) => ((i - 6) * 0.5 * Math.PI) / 180);

export interface LinesFound { horizontal: number; vertical: number }

/**
 * Clears (sets to 0 in `d`) the pixels of printed lines: pixels above `t` that lie on a line
 * whose pixels cover at least half of the picture's width (height) and spread over 70% of it,
 * unless the pixel is clearly darker than that line (ink crossing it, or a "1" drawn along it).
 * A digit's own strokes are far shorter than the page, so a "1" or a "7" stays.
 */
export function removePrintedLines(d: Float32Array, w: number, h: number, t: number): LinesFound {
  const found = { horizontal: 0, vertical: 0 };
  // a small picture is a crop around the digit, whose strokes may span it
  if (Math.max(w, h) < 256) return found;
  const at = new Int32Array(d.length);
  const count = indicesAbove(d, t, at);
  if (count === 0) return found;
  const xs = new Int32Array(count), ys = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    xs[k] = at[k] % w;
    ys[k] = Math.floor(at[k] / w);
  }
  found.horizontal = sweep(d, w, h, xs, ys, t, false);
  found.vertical = sweep(d, w, h, xs, ys, t, true);
  return found;
}

/** Puts the indices of the values above `t` into `out`; returns how many there are. */
function indicesAbove(d: Float32Array, t: number, out: Int32Array): number {
  let k = 0;
  for (let i = 0; i < d.length; i++) if (d[i] > t) out[k++] = i;
  return k;
}

/** One direction: for vertical lines the roles of x and y swap. */
function sweep(d: Float32Array, w: number, h: number, xs: Int32Array, ys: Int32Array, t: number, vertical: boolean): number {
  const along = vertical ? h : w, across = vertical ? w : h;
  const u = vertical ? ys : xs, v = vertical ? xs : ys;
  const pad = Math.ceil(along * Math.tan(ANGLES[ANGLES.length - 1])) + 1;
  const bins = across + 2 * pad;
  // the angle whose projection is sharpest
  let best = 0, bestScore = -1;
  const hist = new Float64Array(bins);
  for (let a = 0; a < ANGLES.length; a++) {
    hist.fill(0);
    const s = Math.tan(ANGLES[a]);
    for (let k = 0; k < u.length; k++) hist[Math.round(v[k] - s * u[k]) + pad]++;
    let score = 0;
    for (let b = 0; b < bins; b++) score += hist[b] * hist[b];
    if (score > bestScore) (bestScore = score), (best = a);
  }
  const s = Math.tan(ANGLES[best]);
  hist.fill(0);
  const lo = new Float64Array(bins).fill(Infinity), hi = new Float64Array(bins).fill(-Infinity);
  for (let k = 0; k < u.length; k++) {
    const b = Math.round(v[k] - s * u[k]) + pad;
    hist[b]++;
    if (u[k] < lo[b]) lo[b] = u[k];
    if (u[k] > hi[b]) hi[b] = u[k];
  }
  // a line bin: half the picture's length covered, 70% spanned
  const isLine = new Uint8Array(bins);
  let lines = 0;
  for (let b = 1; b < bins - 1; b++) {
    // a thin line may straddle two bins
    const cnt = hist[b] + Math.max(hist[b - 1], hist[b + 1]);
    const span = Math.max(hi[b - 1], hi[b], hi[b + 1]) - Math.min(lo[b - 1], lo[b], lo[b + 1]);
    // and thin: the bins a few pixels to either side are mostly paper (not a thick stroke, not texture)
    const beside = Math.max(b >= 5 ? hist[b - 5] : 0, b + 5 < bins ? hist[b + 5] : 0);
    if (hist[b] >= 0.25 * along && cnt >= 0.6 * along && span >= 0.7 * along && beside < 0.5 * hist[b]) {
      isLine[b] = 1;
      if (b === 0 || !isLine[b - 1]) lines++;
    }
  }
  if (lines === 0) return 0;
  // a line's antialiased edges fall in the bins beside it
  const band = new Uint8Array(bins);
  for (let b = 0; b < bins; b++) if (isLine[b]) for (let k = Math.max(0, b - 3); k <= Math.min(bins - 1, b + 3); k++) band[k] = 1;
  // how dark the lines are: ink crossing them is darker still
  const level: number[] = [];
  for (let k = 0; k < u.length; k++) {
    const b = Math.round(v[k] - s * u[k]) + pad;
    if (isLine[b]) level.push(d[vertical ? u[k] * w + v[k] : v[k] * w + u[k]]);
  }
  level.sort((a, b) => a - b);
  const lineDark = level[Math.floor(0.9 * (level.length - 1))];
  const limit = Math.max(1.3 * lineDark, lineDark + 2 * t);
  for (let k = 0; k < u.length; k++) {
    const b = Math.round(v[k] - s * u[k]) + pad;
    if (!band[b]) continue;
    const i = vertical ? u[k] * w + v[k] : v[k] * w + u[k];
    if (d[i] <= limit) d[i] = 0;
  }
  return lines;
}
