// The paper's brightness and colour estimated locally, so uneven light (a shadow's edge, a
// vignette, glare) is divided out rather than fitted by one smooth surface: grey-level closing
// and opening over a window wider than any stroke, and a local median colour (on a grid).
import { quantile } from './stats.ts';

/** The grid the estimates are made on: cells of `cell` pixels, windows of ±`r` cells. */
export interface PaperGrid { cell: number; r: number; gw: number; gh: number }

/**
 * Cells of about 1/40 of the shorter side, and a window about 17% of it: wider than the widest
 * felt-marker stroke of a digit a third of the picture tall, narrower than a page's shadow.
 */
export function paperGrid(w: number, h: number): PaperGrid {
  const minSide = Math.min(w, h);
  const cell = Math.max(1, Math.floor(minSide / 40));
  const r = Math.max(2, Math.ceil((0.085 * minSide) / cell));
  return { cell, r, gw: Math.ceil(w / cell), gh: Math.ceil(h / cell) };
}

/** Bilinear interpolation of a grid of cell values (at cell centres) back to every pixel. */
export function upsample(c: Float32Array, g: PaperGrid, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const xi = new Int32Array(w), xf = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const gx = Math.min(g.gw - 1, Math.max(0, (x + 0.5) / g.cell - 0.5));
    xi[x] = Math.min(g.gw - 2, Math.floor(gx));
    xf[x] = gx - xi[x];
    if (g.gw === 1) (xi[x] = 0), (xf[x] = 0);
  }
  for (let y = 0; y < h; y++) {
    const gy = Math.min(g.gh - 1, Math.max(0, (y + 0.5) / g.cell - 0.5));
    const y0 = g.gh === 1 ? 0 : Math.min(g.gh - 2, Math.floor(gy)), fy = g.gh === 1 ? 0 : gy - y0;
    const r0 = y0 * g.gw, r1 = g.gh === 1 ? r0 : r0 + g.gw;
    for (let x = 0; x < w; x++) {
      const i0 = xi[x], fx = xf[x], i1 = g.gw === 1 ? i0 : i0 + 1;
      out[y * w + x] = (c[r0 + i0] * (1 - fx) + c[r0 + i1] * fx) * (1 - fy) + (c[r1 + i0] * (1 - fx) + c[r1 + i1] * fx) * fy;
    }
  }
  return out;
}

/**
 * Running max over a square window of ±r samples (van Herk / Gil–Werman: three comparisons a
 * pixel whatever the window), of `a` negated when `negateIn`, negated when `negate`: min(a) is
 * then -dilate(-a). Rows first, then columns, each run over whole rows at a time so memory is
 * read in order. Outside the picture counts as -∞ (the window is cut at the edges). Each pass is
 * a function of its own with nothing after its loop: V8 compiles a loop while it runs (on-stack
 * replacement), and code after it that has not yet run would throw that compiled code away.
 */
function dilate(a: Float32Array, w: number, h: number, r: number, negate: boolean, scratch: Scratch, negateIn = false): Float32Array {
  const k = 2 * r + 1;
  // along rows: prefix (g) and suffix (s) maxima within blocks of k over the padded row
  const rows = new Float32Array(w * h);
  const n = w + 2 * r;
  const row = new Float32Array(n).fill(-Infinity), g = new Float32Array(n), s = new Float32Array(n);
  rowMax(a, rows, w, h, r, negateIn ? -1 : 1, row, g, s);
  // along columns: the same on whole rows, over the column padded with r rows of -∞ each side
  const m = h + 2 * r;
  const { col, G, S } = scratch;
  col.fill(-Infinity, 0, r * w);
  col.set(rows, r * w);
  col.fill(-Infinity, (r + h) * w);
  blockScan(col, G, S, m, k, w);
  colMax(S, G, rows, w, h, r, negate ? -1 : 1);
  return rows;
}

/** The row pass: each row of `a` (times `sign`) into `row`'s middle, its running max into `out`. */
function rowMax(a: Float32Array, out: Float32Array, w: number, h: number, r: number, sign: number, row: Float32Array, g: Float32Array, s: Float32Array): void {
  const n = w + 2 * r, k = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) row[r + x] = sign * a[o + x];
    blockScan(row, g, s, n, k, 1);
    for (let i = 0; i < w; i++) {
      const p = s[i], q = g[i + 2 * r];
      out[o + i] = p > q ? p : q;
    }
  }
}

/** The column pass's last step: the window's max from the suffix and prefix maxima, times `sign`. */
function colMax(S: Float32Array, G: Float32Array, out: Float32Array, w: number, h: number, r: number, sign: number): void {
  for (let o = 0, q = 2 * r * w, e = w * h; o < e; o++, q++) {
    const p = S[o], t = G[q];
    out[o] = sign * (p > t ? p : t);
  }
}

/** The column pass's buffers, shared by the four passes over one picture. */
class Scratch {
  readonly col: Float32Array;
  readonly G: Float32Array;
  readonly S: Float32Array;
  constructor(w: number, h: number, r: number) {
    this.col = new Float32Array((h + 2 * r) * w);
    this.G = new Float32Array((h + 2 * r) * w);
    this.S = new Float32Array((h + 2 * r) * w);
  }
}

/**
 * Prefix (g) and suffix (s) running maxima within consecutive blocks of k items of `a`, each item
 * `stride` numbers wide (1: samples of a row; w: whole rows, compared number by number).
 */
function blockScan(a: Float32Array, g: Float32Array, s: Float32Array, count: number, k: number, stride: number): void {
  for (let b = 0; b < count; b += k) {
    const first = b * stride, last = (Math.min(count, b + k) - 1) * stride;
    for (let i = first; i < first + stride; i++) g[i] = a[i];
    for (let i = first + stride; i < last + stride; i++) {
      const p = g[i - stride], v = a[i];
      g[i] = p > v ? p : v;
    }
    for (let i = last; i < last + stride; i++) s[i] = a[i];
    for (let i = last - 1; i >= first; i--) {
      const p = s[i + stride], v = a[i];
      s[i] = p > v ? p : v;
    }
  }
}

/** Block max (or min) over f×f blocks: the image at 1/f of its size. */
function reduce(a: Float32Array, w: number, h: number, f: number, max: boolean): { a: Float32Array; w: number; h: number } {
  const w2 = Math.ceil(w / f), h2 = Math.ceil(h / f);
  const out = new Float32Array(w2 * h2).fill(max ? -Infinity : Infinity);
  for (let y = 0; y < h; y++) {
    const o = Math.floor(y / f) * w2;
    for (let x = 0; x < w; x++) {
      const j = o + Math.floor(x / f), v = a[y * w + x];
      if (max ? v > out[j] : v < out[j]) out[j] = v;
    }
  }
  return { a: out, w: w2, h: h2 };
}

/**
 * The local paper level on both sides of the ink: `close` (dilate then erode) is the paper under
 * dark ink, `open` (erode then dilate) the board under light ink, over a square window of
 * ±`r` pixels. Both keep the step edges of regions wider than the window (a table, a shadow's
 * edge, a sticky note), so those stay paper and only stroke-sized features stand out. Worked
 * out at a reduced size (block max/min first, so no stroke is lost) and interpolated back.
 */
export function paperLevels(lum: Float32Array, w: number, h: number, r: number): { close: Float32Array; open: Float32Array } {
  const f = Math.max(1, Math.floor(Math.min(w, h) / 1024));
  const rr = Math.max(1, Math.ceil(r / f));
  const hi = f === 1 ? { a: lum, w, h } : reduce(lum, w, h, f, true), lo = f === 1 ? hi : reduce(lum, w, h, f, false);
  // close = erode(dilate(x)) = -dilate(-dilate(x)); open = dilate(erode(x)) = dilate(-dilate(-x))
  const scratch = new Scratch(hi.w, hi.h, rr);
  const close = dilate(dilate(hi.a, hi.w, hi.h, rr, true, scratch), hi.w, hi.h, rr, true, scratch);
  const open = dilate(dilate(lo.a, lo.w, lo.h, rr, true, scratch, true), lo.w, lo.h, rr, false, scratch);
  if (f === 1) return { close, open };
  const grid = { cell: f, r: rr, gw: hi.w, gh: hi.h };
  return { close: upsample(close, grid, w, h), open: upsample(open, grid, w, h) };
}

/** The window's half-width in pixels: the window is about 17% of the shorter side. */
export function paperRadius(w: number, h: number): number {
  return Math.max(3, Math.ceil(0.085 * Math.min(w, h)));
}

/**
 * The paper's colour in one channel: the median of the cell medians in the window around each
 * cell (robust while ink covers less than half of the window), interpolated to every pixel.
 */
export function localMedian(ch: Float32Array, w: number, h: number, g: PaperGrid): Float32Array {
  const n = g.gw * g.gh;
  const count = new Int32Array(n + 1);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / g.cell) * g.gw;
    for (let x = 0; x < w; x++) count[row + Math.floor(x / g.cell) + 1]++;
  }
  for (let j = 0; j < n; j++) count[j + 1] += count[j];
  const fill = count.slice(0, n);
  const vals = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / g.cell) * g.gw;
    for (let x = 0; x < w; x++) vals[fill[row + Math.floor(x / g.cell)]++] = ch[y * w + x];
  }
  const med = new Float32Array(n);
  for (let j = 0; j < n; j++) med[j] = quantile(vals.subarray(count[j], count[j + 1]), 0.5);
  const win = new Float32Array((2 * g.r + 1) ** 2);
  const out = new Float32Array(n);
  for (let y = 0; y < g.gh; y++) {
    for (let x = 0; x < g.gw; x++) {
      let k = 0;
      for (let yy = Math.max(0, y - g.r); yy <= Math.min(g.gh - 1, y + g.r); yy++) {
        for (let xx = Math.max(0, x - g.r); xx <= Math.min(g.gw - 1, x + g.r); xx++) win[k++] = med[yy * g.gw + xx];
      }
      out[y * g.gw + x] = quantile(win.subarray(0, k), 0.5);
    }
  }
  return upsample(out, g, w, h);
}
