// The paper's brightness as a smooth surface: grid cells, a robust mask of paper cells, a quadratic fit.
import { quantile } from './stats.ts';

const GRID = 48;

/** Cell index of each of n pixels split into g cells. */
function cellIndex(n: number, g: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor((i * g) / n);
  return out;
}

/** Per-cell sums and pixel counts of a w×h image cut into a gw×gh grid. */
function cellSums(a: ArrayLike<number>, w: number, h: number, gw: number, gh: number): { sum: Float64Array; count: Float64Array } {
  const sum = new Float64Array(gw * gh), count = new Float64Array(gw * gh);
  const col = cellIndex(w, gw);
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * gh) / h) * gw;
    for (let x = 0; x < w; x++) {
      const j = row + col[x];
      sum[j] += a[y * w + x];
      count[j]++;
    }
  }
  return { sum, count };
}

/** Averages the image into at most GRID×GRID cells; returns cell values and centres (in -1..1). */
function cells(a: Float32Array, w: number, h: number): { v: Float64Array; x: Float64Array; y: Float64Array; gw: number; gh: number } {
  const gw = Math.min(GRID, w), gh = Math.min(GRID, h);
  const { sum: v, count: c } = cellSums(a, w, h, gw, gh);
  const xs = new Float64Array(gw * gh), ys = new Float64Array(gw * gh);
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const j = gy * gw + gx;
      v[j] /= c[j];
      xs[j] = gw > 1 ? (2 * gx) / (gw - 1) - 1 : 0;
      ys[j] = gh > 1 ? (2 * gy) / (gh - 1) - 1 : 0;
    }
  }
  return { v, x: xs, y: ys, gw, gh };
}

/** A cell is background when most of its pixels are. */
function cellMask(pixelMask: Uint8Array, w: number, h: number, gw: number, gh: number): Uint8Array {
  const { sum: on, count: all } = cellSums(pixelMask, w, h, gw, gh);
  const m = new Uint8Array(gw * gh);
  for (let j = 0; j < m.length; j++) m[j] = on[j] * 2 > all[j] ? 1 : 0;
  return m;
}

/** Quadratic surface terms at (x, y). */
function terms(x: number, y: number): number[] {
  return [1, x, y, x * x, x * y, y * y];
}

/** Least squares fit of the quadratic surface to the cells where mask is set; undefined when singular. */
function lstsq(v: Float64Array, xs: Float64Array, ys: Float64Array, mask: Uint8Array): number[] | undefined {
  const m = 6;
  const A = Array.from({ length: m }, () => new Float64Array(m + 1));
  let count = 0;
  for (let j = 0; j < v.length; j++) {
    if (!mask[j]) continue;
    count++;
    const t = terms(xs[j], ys[j]);
    for (let p = 0; p < m; p++) {
      for (let q = 0; q < m; q++) A[p][q] += t[p] * t[q];
      A[p][m] += t[p] * v[j];
    }
  }
  if (count < 24) return undefined;
  // Gaussian elimination with partial pivoting
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    if (Math.abs(A[piv][c]) < 1e-9 * count) return undefined;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let q = c; q <= m; q++) A[r][q] -= f * A[c][q];
    }
  }
  return A.map((row, i) => row[m] / row[i]);
}

/**
 * Which grid cells are background. Start from the median of the border cells (the border is
 * mostly paper, even when a bold digit covers most of the image), then alternate fitting a
 * quadratic surface and dropping cells far from it (ink), so a lighting gradient is followed but
 * the digit is not.
 */
export function robustBackgroundMask(lum: Float32Array, w: number, h: number): Uint8Array {
  const { v, x, y, gw, gh } = cells(lum, w, h);
  const n = v.length;
  const border: number[] = [];
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) if (gx === 0 || gy === 0 || gx === gw - 1 || gy === gh - 1) border.push(v[gy * gw + gx]);
  }
  let model = new Float64Array(n).fill(quantile(border, 0.5));
  let thr = Math.max(2.5 * 1.4826 * quantile(border.map((b) => Math.abs(b - model[0])), 0.5), 0.015);
  let mask = new Uint8Array(n).fill(1);
  for (let iter = 0; iter < 5; iter++) {
    const next = new Uint8Array(n);
    const dev: number[] = [];
    for (let j = 0; j < n; j++) {
      const r = Math.abs(v[j] - model[j]);
      if (r <= thr) {
        next[j] = 1;
        dev.push(r);
      }
    }
    if (dev.length < Math.min(24, n)) break;
    mask = next;
    const coef = lstsq(v, x, y, mask);
    if (!coef) break;
    for (let j = 0; j < n; j++) model[j] = terms(x[j], y[j]).reduce((sum, t, i) => sum + t * coef[i], 0);
    thr = Math.max(2.5 * 1.4826 * quantile(dev, 0.5), 0.015);
  }
  // per working pixel
  const out = new Uint8Array(w * h);
  const col = cellIndex(w, gw);
  for (let py = 0; py < h; py++) {
    const row = Math.floor((py * gh) / h) * gw;
    for (let px = 0; px < w; px++) out[py * w + px] = mask[row + col[px]];
  }
  return out;
}

/** The background of one channel at every working pixel: the quadratic surface through the background cells (or their median). */
export function fitSurface(ch: Float32Array, w: number, h: number, pixelMask: Uint8Array): Float32Array {
  const { v, x, y, gw, gh } = cells(ch, w, h);
  const mask = cellMask(pixelMask, w, h, gw, gh);
  const out = new Float32Array(w * h);
  const coef = lstsq(v, x, y, mask);
  if (!coef) {
    const kept: number[] = [];
    for (let j = 0; j < v.length; j++) if (mask[j]) kept.push(v[j]);
    return out.fill(quantile(kept.length ? kept : v, 0.5));
  }
  // evaluate at pixel centres mapped to the cell-centre coordinates used for the fit
  const xxs = new Float64Array(w);
  for (let px = 0; px < w; px++) xxs[px] = gw > 1 ? (2 * ((px + 0.5) * (gw / w) - 0.5)) / (gw - 1) - 1 : 0;
  for (let py = 0; py < h; py++) {
    const yy = gh > 1 ? (2 * ((py + 0.5) * (gh / h) - 0.5)) / (gh - 1) - 1 : 0;
    const c0 = coef[0] + coef[2] * yy + coef[5] * yy * yy, c1 = coef[1] + coef[4] * yy;
    for (let px = 0; px < w; px++) {
      const xx = xxs[px];
      out[py * w + px] = c0 + c1 * xx + coef[3] * xx * xx;
    }
  }
  return out;
}

/** 3×3 binomial blur with clamped edges. */
