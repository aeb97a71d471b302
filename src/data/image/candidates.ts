// Candidate ink: the mask closed over chalk's speckle, and each connected region judged (touches
// the picture's border? a long straight line? a filled blob rather than a stroke? darker or
// lighter than the paper around it?). Labelling and grouping are in regions.ts.
import type { Labels } from './regions.ts';
import { quantile } from './stats.ts';

/**
 * Binary closing (dilate then erode, square of radius r): joins chalk's speckle into strokes.
 * Outside the picture counts as neither ink nor paper. Worked on the mask packed 32 pixels to a
 * word, one pixel's reach at a time (r steps of ±1 make a window of ±r), rows then columns.
 */
export function closeMask(m: Uint8Array, w: number, h: number, r: number): Uint8Array {
  if (r < 1) return m;
  const words = (w + 31) >>> 5;
  const bits = new Int32Array(words * h), tmp = new Int32Array(words * h);
  for (let y = 0; y < h; y++) {
    const o = y * w, p = y * words;
    for (let x = 0; x < w; x++) if (m[o + x]) bits[p + (x >>> 5)] |= 1 << (x & 31);
  }
  // the last word's bits past the row's end are kept 0
  const tail = w & 31 ? (1 << (w & 31)) - 1 : -1;
  grow(bits, tmp, words, h, r, tail);
  // erosion is growth of the paper: the complement grown, and complemented back
  for (let i = 0; i < bits.length; i++) bits[i] = ~bits[i];
  for (let i = words - 1; i < bits.length; i += words) bits[i] &= tail;
  grow(bits, tmp, words, h, r, tail);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w, p = y * words;
    for (let x = 0; x < w; x++) out[o + x] = (~bits[p + (x >>> 5)] >>> (x & 31)) & 1;
  }
  return out;
}

/** Sets every bit within ±r (a square) of a set bit, in place; `tmp` is scratch of the same size. */
function grow(bits: Int32Array, tmp: Int32Array, words: number, h: number, r: number, tail: number): void {
  for (let step = 0; step < r; step++) {
    // along rows: each bit takes its neighbours on either side, across word boundaries
    for (let y = 0; y < h; y++) {
      const p = y * words;
      let prev = 0;
      for (let k = 0; k < words; k++) {
        const b = bits[p + k], next = k + 1 < words ? bits[p + k + 1] : 0;
        tmp[p + k] = b | (b << 1) | (prev >>> 31) | (b >>> 1) | (next << 31);
        prev = b;
      }
      tmp[p + words - 1] &= tail;
    }
    bits.set(tmp);
  }
  for (let step = 0; step < r; step++) {
    // along columns: each row takes the rows above and below
    for (let y = 0; y < h; y++) {
      const p = y * words, up = y > 0 ? p - words : p, down = y < h - 1 ? p + words : p;
      for (let k = 0; k < words; k++) tmp[p + k] = bits[up + k] | bits[p + k] | bits[down + k];
    }
    bits.set(tmp);
  }
}

/** Marks regions that cannot be the digit: specks, edges of the picture, long lines, filled blobs. */
export function judgeRegions(lb: Labels, w: number, h: number, minSide: number): void {
  const { regions } = lb;
  const photo = Math.max(w, h) >= 256;
  for (const c of regions) {
    const bw = c.x1 - c.x0, bh = c.y1 - c.y0, long = Math.max(bw, bh);
    const stroke = (2 * c.area) / (c.edges * (Math.PI / 4));
    if (long < 0.04 * minSide) c.rejected = 'a speck';
    // a small picture is a crop of the digit, which MNIST-style centring may push to the edge
    else if (photo && (c.x0 === 0 || c.y0 === 0 || c.x1 === w || c.y1 === h)) c.rejected = 'touches the edge of the picture';
    else if (bw > 3 * bh || (bh > 4 * bw && bh > 0.75 * h && stroke < 0.06 * long)) c.rejected = 'a long line';
    else if (stroke > 0.4 * long && long > 0.1 * minSide) c.rejected = 'a filled region, not a stroke';
  }
}

/**
 * Polarity from the paper around the ink: where a dark region and a light region overlap, one of
 * them is the ink and the other the paper between its strokes (the loop of a "9" stands out as
 * light against dark strokes just as chalk does against the board). The paper is whichever is
 * closer in brightness (as a ratio, so a shadow does not matter) to the ring of picture around
 * both; that one is set aside.
 */
export function settlePolarity(dk: Labels, lt: Labels, lum: Float32Array, w: number, h: number): void {
  const mean = (lb: Labels) => {
    const sums = new Float64Array(lb.regions.length);
    sumByLabel(lb.label, new Uint8Array(lb.regions.length).fill(1), lum, sums);
    return lb.regions.map((r) => sums[r.id] / r.area);
  };
  const md = mean(dk), ml = mean(lt);
  for (const d of dk.regions) {
    if (d.rejected) continue;
    for (const l of lt.regions) {
      if (l.rejected) continue;
      const ix = Math.min(d.x1, l.x1) - Math.max(d.x0, l.x0), iy = Math.min(d.y1, l.y1) - Math.max(d.y0, l.y0);
      if (ix <= 0 || iy <= 0) continue;
      const smaller = Math.min((d.x1 - d.x0) * (d.y1 - d.y0), (l.x1 - l.x0) * (l.y1 - l.y0));
      if (ix * iy < 0.3 * smaller) continue;
      // the ring around both boxes
      const x0 = Math.min(d.x0, l.x0), y0 = Math.min(d.y0, l.y0), x1 = Math.max(d.x1, l.x1), y1 = Math.max(d.y1, l.y1);
      const g = Math.ceil(0.2 * Math.max(x1 - x0, y1 - y0)) + 2;
      const X0 = Math.max(0, x0 - g), Y0 = Math.max(0, y0 - g), X1 = Math.min(w, x1 + g), Y1 = Math.min(h, y1 + g);
      const step = Math.max(1, Math.floor(Math.sqrt(((X1 - X0) * (Y1 - Y0)) / 4096)));
      const ring: number[] = [];
      for (let y = Y0; y < Y1; y += step) for (let x = X0; x < X1; x += step) if (x < x0 || x >= x1 || y < y0 || y >= y1) ring.push(lum[y * w + x]);
      if (ring.length === 0) continue;
      ring.sort((a, b) => a - b);
      const paper = Math.max(ring[ring.length >> 1], 0.01);
      // ink must lie on its own side of the paper; if both do, the paper is the one nearer to it
      const dInk = md[d.id] < paper, lInk = ml[l.id] > paper;
      const off = (v: number) => Math.abs(Math.log(Math.max(v, 0.01) / paper));
      if (dInk && (!lInk || off(md[d.id]) >= off(ml[l.id]))) l.rejected = 'paper between strokes';
      else if (lInk) d.rejected = 'paper between strokes';
      else l.rejected = 'paper between strokes';
      if (d.rejected) break;
    }
  }
}

/**
 * Sets aside thin regions with different paper on their two long sides: the shadow under the
 * edge of a sticky note, the rim of a page on a table, a shadow's edge. They read as a "1" with
 * full confidence, but a stroke drawn on paper has the same paper either side of it. Compares
 * the median colour of a band as wide as the region on each side (`rgb`: 0..1 planes).
 */
export function judgeEdges(lb: Labels, rgb: Float32Array[], w: number, h: number): void {
  for (const c of lb.regions) {
    if (c.rejected) continue;
    const bw = c.x1 - c.x0, bh = c.y1 - c.y0;
    const upright = bh >= 2 * bw;
    if (!upright && bw < 2 * bh) continue;
    // the two bands, as [x0, x1) × [y0, y1), one pixel away from the region's box
    const d = Math.max(2, upright ? bw : bh);
    const bands = upright
      ? [[c.x0 - 1 - d, c.x0 - 1, c.y0, c.y1], [c.x1 + 1, c.x1 + 1 + d, c.y0, c.y1]]
      : [[c.x0, c.x1, c.y0 - 1 - d, c.y0 - 1], [c.x0, c.x1, c.y1 + 1, c.y1 + 1 + d]];
    if (bands.some(([x0, x1, y0, y1]) => x0 < 0 || y0 < 0 || x1 > w || y1 > h)) continue;
    const [one, other] = bands.map(([x0, x1, y0, y1]) => rgb.map((ch) => {
      const vals = new Float32Array((x1 - x0) * (y1 - y0));
      for (let y = y0, k = 0; y < y1; y++) for (let x = x0; x < x1; x++) vals[k++] = ch[y * w + x];
      return quantile(vals, 0.5);
    }));
    let differ = 0;
    for (let k = 0; k < rgb.length; k++) differ = Math.max(differ, Math.abs(one[k] - other[k]) / Math.max(one[k], other[k], 0.1));
    if (differ > 0.18) c.rejected = 'the edge of something (different paper either side)';
  }
}

/**
 * Sets aside regions that do not stand apart from what surrounds them: ink is darker (or, for
 * `dark` false, lighter) than all the paper around it, but a patch of a sticky note's paper that
 * the paper-level window could not fit into (between a stroke and the table's edge) has as much
 * paper as bright as itself beside it as table. Looks at the ring of pixels around the region's
 * box: more than 40% of it as far out as the region itself rejects it.
 */
export function judgeSurroundings(lb: Labels, lum: Float32Array, w: number, h: number, dark: boolean): void {
  const sums = new Float64Array(lb.regions.length);
  sumByLabel(lb.label, Uint8Array.from(lb.regions, (c) => (c.rejected ? 0 : 1)), lum, sums);
  for (const c of lb.regions) {
    if (c.rejected) continue;
    const level = sums[c.id] / c.area;
    const g = Math.ceil(0.2 * Math.max(c.x1 - c.x0, c.y1 - c.y0)) + 2;
    const X0 = Math.max(0, c.x0 - g), Y0 = Math.max(0, c.y0 - g), X1 = Math.min(w, c.x1 + g), Y1 = Math.min(h, c.y1 + g);
    const step = Math.max(1, Math.floor(Math.sqrt(((X1 - X0) * (Y1 - Y0)) / 4096)));
    let ring = 0, alike = 0;
    for (let y = Y0; y < Y1; y += step) {
      for (let x = X0; x < X1; x += step) {
        if (x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1) continue;
        ring++;
        const v = lum[y * w + x];
        if (dark ? v <= 1.1 * level : v >= 0.9 * level) alike++;
      }
    }
    if (ring > 0 && alike > 0.4 * ring) c.rejected = 'not apart from the paper around it';
  }
}

/** Adds `lum` over each region (`label`, -1: none) whose `keep` is set into `sums`. */
function sumByLabel(label: Int32Array, keep: Uint8Array, lum: Float32Array, sums: Float64Array): void {
  for (let i = 0; i < label.length; i++) {
    const l = label[i];
    if (l >= 0 && keep[l]) sums[l] += lum[i];
  }
}
