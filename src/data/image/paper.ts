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
 * Running max (or min) over a window of 2r+1 samples along every row, by van Herk / Gil–Werman:
 * three comparisons a pixel whatever the window. Edges are padded with the opposite extreme.
 */
function rowExtreme(a: Float32Array, w: number, h: number, r: number, max: boolean): Float32Array {
  const out = new Float32Array(w * h);
  const k = 2 * r + 1, n = w + 2 * r;
  const pad = max ? -Infinity : Infinity;
  const row = new Float32Array(n), g = new Float32Array(n), hh = new Float32Array(n);
  for (let y = 0; y < h; y++) {
    row.fill(pad);
    row.set(a.subarray(y * w, y * w + w), r);
    for (let j = 0; j < n; j++) {
      const v = row[j];
      g[j] = j % k === 0 ? v : max ? (g[j - 1] > v ? g[j - 1] : v) : g[j - 1] < v ? g[j - 1] : v;
    }
    for (let j = n - 1; j >= 0; j--) {
      const v = row[j];
      hh[j] = j === n - 1 || (j + 1) % k === 0 ? v : max ? (hh[j + 1] > v ? hh[j + 1] : v) : hh[j + 1] < v ? hh[j + 1] : v;
    }
    const o = y * w;
    for (let i = 0; i < w; i++) {
      const p = hh[i], q = g[i + 2 * r];
      out[o + i] = max ? (p > q ? p : q) : p < q ? p : q;
    }
  }
  return out;
}

function transpose(a: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + y] = a[y * w + x];
  return out;
}

/** Square-window max or min filter of radius r. */
function filter2d(a: Float32Array, w: number, h: number, r: number, max: boolean): Float32Array {
  return transpose(rowExtreme(transpose(rowExtreme(a, w, h, r, max), w, h), h, w, r, max), h, w);
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
  const hi = reduce(lum, w, h, f, true), lo = reduce(lum, w, h, f, false);
  const close = filter2d(filter2d(hi.a, hi.w, hi.h, rr, true), hi.w, hi.h, rr, false);
  const open = filter2d(filter2d(lo.a, lo.w, lo.h, rr, false), lo.w, lo.h, rr, true);
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
