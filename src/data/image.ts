// Turns an arbitrary picture of a digit into a 28×28 MNIST-style image, the way MNIST was made:
// light ink on black, digit fitted to a 20×20 box, centre of mass at the centre. Pure code.
import type { RgbaImage } from './image-io.ts';
import { inkWarnings } from './ink-shape.ts';

export const SIZE = 28;
/** MNIST fits the digit's longer side to this many pixels. */
export const BOX = 20;

export interface PreprocessOptions {
  /** Longest side the image is reduced to (block averaging) before the analysis; bounds time and memory. */
  maxWorkingSide?: number;
  /**
   * Width (28×28 pixels, as strokeWidth() measures it) that thin strokes are brought up to. On
   * MNIST itself that measure has median 2.35 and 5th–95th percentiles 1.6–3.4; the defaults
   * were chosen by accuracy on a few thousand printed and drawn test pictures.
   */
  targetStroke?: number;
  /** Strokes thinner than this are thickened to targetStroke. */
  minStroke?: number;
  /** Strokes thicker than this are thinned down to it. */
  maxStroke?: number;
}

export interface Preprocessed {
  /** 28×28 grey pixels, 0 = background, 255 = ink; undefined when no digit was found. */
  pixels?: Uint8Array;
  /** Why no digit was found. */
  reason?: string;
  /** How the image was read, for --json and --show. */
  info: PreprocessInfo;
}

export interface PreprocessInfo {
  width: number;
  height: number;
  /** 'none': opaque; 'ink': transparent background, alpha outlines the ink; 'paper': opaque paper with transparent parts. */
  alpha: 'none' | 'ink' | 'paper';
  /** True when the ink was darker than the background (and so was inverted). */
  inverted: boolean;
  /** 'luminance' normally; 'colour' when ink and background differ in hue more than in brightness. */
  signal: 'luminance' | 'colour';
  /** Background and ink levels (0..1) before normalisation. */
  background: number;
  contrast: number;
  /** The digit's bounding box in source pixels. */
  box?: { x: number; y: number; width: number; height: number };
  /** Estimated stroke width at 28×28 before and after thickening/thinning. */
  stroke?: number;
  strokeAdjusted?: number;
  /** Doubts about the ink kept as the digit (ink-shape.ts): several digits, or not a digit. */
  warnings?: string[];
}

const DEFAULTS: Required<PreprocessOptions> = { maxWorkingSide: 1024, targetStroke: 2.6, minStroke: 2.0, maxStroke: 3.6 };

/** Rec. 601 luma weights. */
const LR = 0.299, LG = 0.587, LB = 0.114;

/**
 * Converts a picture to the 28×28 input the model was trained on, or says why there is no digit.
 * Steps: alpha compositing → working resolution → background model → polarity → contrast
 * normalisation → digit components → stroke width → area-averaged 20×20 → centre of mass.
 */
export function preprocessImage(img: RgbaImage, options: PreprocessOptions = {}): Preprocessed {
  const o = { ...DEFAULTS, ...options };
  const info: PreprocessInfo = { width: img.width, height: img.height, alpha: 'none', inverted: false, signal: 'luminance', background: 0, contrast: 0 };
  const fail = (reason: string): Preprocessed => ({ reason, info });

  const comp = chooseComposite(img);
  info.alpha = comp.alpha;
  if (comp.opaque === 0) return fail('no digit found: the image is fully transparent');

  const work = toWorking(img, comp.color, o.maxWorkingSide);
  const { w, h, k } = work;
  const n = w * h;

  // background: a smooth surface per channel (handles uneven lighting in photos)
  const bgMask = robustBackgroundMask(work.lum, w, h);
  const res = [work.r, work.g, work.b].map((ch) => {
    const bg = fitSurface(ch, w, h, bgMask);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ch[i] - bg[i];
    return out;
  });
  const rl = new Float32Array(n);
  const dist = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = res[0][i], b = res[1][i], c = res[2][i];
    rl[i] = LR * a + LG * b + LB * c;
    dist[i] = Math.sqrt((a * a + b * b + c * c) / 3);
  }
  info.background = clamp01(median(work.lum));

  // polarity: the side of the background with more ink mass beyond the noise
  const sigmaL = mad(rl, bgMask) * 1.4826;
  const t = Math.max(4 * sigmaL, 0.02);
  let up = 0, down = 0;
  for (let i = 0; i < n; i++) {
    if (rl[i] > t) up += rl[i] - t;
    else if (rl[i] < -t) down += -rl[i] - t;
  }
  const sign = down > up ? -1 : 1;
  info.inverted = sign < 0;

  // luminance normally; colour distance when the ink differs from the paper mostly in hue
  const sigmaD = mad(dist, bgMask) * 1.4826;
  const td = Math.max(4 * sigmaD, 0.05);
  let sumL = 0, sumD = 0;
  for (let i = 0; i < n; i++) {
    if (dist[i] > td) {
      sumL += Math.max(0, sign * rl[i]);
      sumD += dist[i];
    }
  }
  let s: Float32Array;
  if (sumD > 0 && sumL < 0.5 * sumD) {
    info.signal = 'colour';
    info.inverted = false;
    s = dist;
  } else {
    s = rl;
    for (let i = 0; i < n; i++) s[i] = Math.max(0, sign * s[i]);
  }
  // NOTE: a 3×3 blur on big images keeps paper texture and sensor noise from becoming ink; at
  // 20/1000 scale it does not change the result.
  if (Math.max(w, h) >= 256) s = blur3(s, w, h);

  // contrast: noise floor and ink level
  const sigma = mad(s, bgMask) * 1.4826;
  let peak = 0;
  for (let i = 0; i < n; i++) if (s[i] > peak) peak = s[i];
  let nCore = 0;
  for (let i = 0; i < n; i++) if (s[i] >= 0.5 * peak) nCore++;
  const core = new Float32Array(nCore);
  for (let i = 0, j = 0; i < n; i++) if (s[i] >= 0.5 * peak) core[j++] = s[i];
  const hi = nCore ? quantile(core, 0.6) : 0;
  info.contrast = hi;
  if (hi < 0.005) return fail('no digit found: the image is blank (one colour or a smooth gradient)');
  if (hi < 0.04 || hi < 8 * sigma) return fail(`no digit found: the image is nearly uniform (contrast ${(hi * 100).toFixed(1)}%)`);
  const lo = Math.max(4 * sigma, 0.12 * hi);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = clamp01((s[i] - lo) / (hi - lo));

  // the digit: components of the ink, keeping the largest and whatever lies near it
  const keep = digitMask(v, w, h);
  if (!keep) return fail('no digit found');
  for (let i = 0; i < n; i++) if (!keep[i]) v[i] = 0;
  const doubts = inkWarnings(v, w, h);
  if (doubts.length) info.warnings = doubts;
  let box = extent(v, w, h, 0.5);
  if (!box) return fail('no digit found');
  const longSide = Math.max(box.x1 - box.x0, box.y1 - box.y0);
  if (longSide < Math.max(3, 0.01 * Math.max(w, h))) return fail('no digit found: only a speck of ink');
  info.box = { x: box.x0 * k, y: box.y0 * k, width: Math.min(img.width, box.x1 * k) - box.x0 * k, height: Math.min(img.height, box.y1 * k) - box.y0 * k };

  // stroke width, in 28×28 pixels once fitted to the box; thin strokes (a pen on a big canvas)
  // would fade to grey under area averaging, so bring them to MNIST's width
  const width = strokeWidth(v, w, h);
  const stroke = (width * BOX) / longSide;
  info.stroke = round2(stroke);
  let adjusted = stroke;
  if (stroke < o.minStroke || stroke > o.maxStroke) {
    const target = stroke < o.minStroke ? o.targetStroke : o.maxStroke;
    // choose r (working pixels per side) so that (width + 2r) * BOX / (longSide + 2r) = target
    const r = (target * longSide - BOX * width) / (2 * (BOX - target));
    const v2 = adjustStroke(v, w, h, r);
    const box2 = extent(v2, w, h, 0.5);
    if (box2) {
      v.set(v2);
      box = box2;
      const ls = Math.max(box.x1 - box.x0, box.y1 - box.y0);
      adjusted = (strokeWidth(v, w, h) * BOX) / ls;
    }
  }
  info.strokeAdjusted = round2(adjusted);

  // fit the longer side to 20 pixels (area averaging), aligned to the pixel grid as in MNIST
  const side = Math.max(box.x1 - box.x0, box.y1 - box.y0);
  const cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2;
  const fitted = resampleArea(v, w, h, cx - side / 2, cy - side / 2, side, BOX);
  return { pixels: centreByMass(fitted, BOX), info };
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Decides what transparent pixels are composited onto (see PreprocessInfo.alpha). `opaque` is
 * the alpha mass in pixels (0: fully transparent).
 */
export function chooseComposite(img: RgbaImage): { color: [number, number, number]; alpha: PreprocessInfo['alpha']; opaque: number } {
  const d = img.data;
  const n = img.width * img.height;
  let translucent = 0, mass = 0, solid = 0;
  for (let p = 3; p < d.length; p += 4) {
    if (d[p] < 255) translucent++;
    if (d[p] >= 128) solid++;
    mass += d[p];
  }
  const opaque = mass / 255;
  if (translucent === 0) return { color: [0, 0, 0], alpha: 'none', opaque };
  if (mass === 0) return { color: [0, 0, 0], alpha: 'ink', opaque };
  // alpha-weighted colour histograms of the (mostly) opaque pixels; of all visible ones if none is
  // mostly opaque (a hairline on a small transparent canvas)
  const minAlpha = solid > 0 ? 128 : 1;
  const hr = new Float64Array(256), hg = new Float64Array(256), hb = new Float64Array(256);
  let weight = 0;
  for (let p = 0; p < d.length; p += 4) {
    const a = d[p + 3];
    if (a < minAlpha) continue;
    hr[d[p]] += a;
    hg[d[p + 1]] += a;
    hb[d[p + 2]] += a;
    weight += a;
  }
  const med: [number, number, number] = [histMedian(hr, weight) / 255, histMedian(hg, weight) / 255, histMedian(hb, weight) / 255];
  if (opaque >= 0.5 * n) return { color: med, alpha: 'paper', opaque };
  // Mostly transparent: the opaque pixels are the ink. Put it on the opposite of its brightness,
  // so black, white and coloured ink on a transparent canvas all stand out.
  const inkLum = LR * med[0] + LG * med[1] + LB * med[2];
  const bg = inkLum < 0.5 ? 1 : 0;
  return { color: [bg, bg, bg], alpha: 'ink', opaque };
}

function histMedian(hist: Float64Array, count: number): number {
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc * 2 >= count) return i;
  }
  return hist.length - 1;
}

interface Working {
  w: number;
  h: number;
  /** Source pixels per working pixel along each axis. */
  k: number;
  r: Float32Array;
  g: Float32Array;
  b: Float32Array;
  lum: Float32Array;
}

/** Composites alpha onto `color` and block-averages to at most maxSide pixels a side: r, g, b, luma in 0..1. */
export function toWorking(img: RgbaImage, color: [number, number, number], maxSide: number): Working {
  const k = Math.max(1, Math.ceil(Math.max(img.width, img.height) / maxSide));
  const w = Math.ceil(img.width / k), h = Math.ceil(img.height / k);
  const r = new Float32Array(w * h), g = new Float32Array(w * h), b = new Float32Array(w * h), cnt = new Float32Array(w * h);
  const d = img.data;
  const [cr, cg, cb] = color;
  const col = new Int32Array(img.width);
  for (let x = 0; x < img.width; x++) col[x] = Math.floor(x / k);
  for (let y = 0; y < img.height; y++) {
    const row = Math.floor(y / k) * w;
    for (let x = 0, p = y * img.width * 4; x < img.width; x++, p += 4) {
      const j = row + col[x];
      const a = d[p + 3] * (1 / 255);
      const ia = 1 - a;
      r[j] += a * d[p] * (1 / 255) + ia * cr;
      g[j] += a * d[p + 1] * (1 / 255) + ia * cg;
      b[j] += a * d[p + 2] * (1 / 255) + ia * cb;
      cnt[j]++;
    }
  }
  const lum = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    r[i] /= cnt[i];
    g[i] /= cnt[i];
    b[i] /= cnt[i];
    lum[i] = LR * r[i] + LG * g[i] + LB * b[i];
  }
  return { w, h, k, r, g, b, lum };
}

/** Median of up to 16k evenly spaced values (plenty for a background level). */
function median(a: ArrayLike<number>): number {
  return quantile(sampled(a), 0.5);
}

function sampled(a: ArrayLike<number>, max = 16_384): Float32Array {
  const step = Math.max(1, Math.floor(a.length / max));
  const out = new Float32Array(Math.ceil(a.length / step));
  for (let i = 0, j = 0; i < a.length; i += step, j++) out[j] = a[i];
  return out;
}

/** The q-quantile by selection (Hoare's quickselect) on a copy: linear time. */
function quantile(a: ArrayLike<number>, q: number): number {
  const n = a.length;
  if (n === 0) return 0;
  const s = Float32Array.from(a);
  const k = Math.min(n - 1, Math.max(0, Math.floor(q * (n - 1))));
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    const pivot = s[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (s[i] < pivot) i++;
      while (s[j] > pivot) j--;
      if (i <= j) {
        const t = s[i];
        s[i] = s[j];
        s[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return s[k];
}

/** Median absolute deviation from the median, on a sample of the pixels where `where` is set (all if none is). */
function mad(a: Float32Array, where?: Uint8Array): number {
  let src: ArrayLike<number> = a;
  if (where) {
    let count = 0;
    for (let i = 0; i < where.length; i++) count += where[i];
    if (count > 0) {
      const picked = new Float32Array(count);
      for (let i = 0, j = 0; i < a.length; i++) if (where[i]) picked[j++] = a[i];
      src = picked;
    }
  }
  const sample = sampled(src);
  const m = quantile(sample, 0.5);
  for (let i = 0; i < sample.length; i++) sample[i] = Math.abs(sample[i] - m);
  return quantile(sample, 0.5);
}

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
function robustBackgroundMask(lum: Float32Array, w: number, h: number): Uint8Array {
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
function fitSurface(ch: Float32Array, w: number, h: number, pixelMask: Uint8Array): Float32Array {
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
function blur3(a: Float32Array, w: number, h: number): Float32Array {
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      tmp[i] = 0.25 * a[i - (x > 0 ? 1 : 0)] + 0.5 * a[i] + 0.25 * a[i + (x < w - 1 ? 1 : 0)];
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      out[i] = 0.25 * tmp[i - (y > 0 ? w : 0)] + 0.5 * tmp[i] + 0.25 * tmp[i + (y < h - 1 ? w : 0)];
    }
  }
  return out;
}

/**
 * Marks the digit: 8-connected components of the ink cores (v ≥ 0.3); the one with the most
 * ink, plus components close to it (a "5" whose top bar does not touch, a broken stroke); then
 * the faint edges connected to those. Specks elsewhere are dropped.
 */
export function digitMask(v: Float32Array, w: number, h: number): Uint8Array | undefined {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const comps: { mass: number; x0: number; y0: number; x1: number; y1: number }[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (label[start] !== -1 || v[start] < 0.3) continue;
    const id = comps.length;
    const c = { mass: 0, x0: w, y0: h, x1: 0, y1: 0 };
    let sp = 0;
    stack[sp++] = start;
    label[start] = id;
    while (sp > 0) {
      const i = stack[--sp];
      const x = i % w, y = (i - x) / w;
      c.mass += v[i];
      if (x < c.x0) c.x0 = x;
      if (x + 1 > c.x1) c.x1 = x + 1;
      if (y < c.y0) c.y0 = y;
      if (y + 1 > c.y1) c.y1 = y + 1;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          if (label[j] === -1 && v[j] >= 0.3) {
            label[j] = id;
            stack[sp++] = j;
          }
        }
      }
    }
    comps.push(c);
  }
  if (comps.length === 0) return undefined;
  let best = 0;
  for (let i = 1; i < comps.length; i++) if (comps[i].mass > comps[best].mass) best = i;
  const kept = new Uint8Array(comps.length);
  kept[best] = 1;
  const u = { ...comps[best] };
  const minMass = 0.01 * comps[best].mass;
  for (let changed = true; changed; ) {
    changed = false;
    const margin = 0.25 * Math.max(u.x1 - u.x0, u.y1 - u.y0) + 1;
    for (let i = 0; i < comps.length; i++) {
      const c = comps[i];
      if (kept[i] || c.mass < minMass) continue;
      const near = c.x1 >= u.x0 - margin && c.x0 <= u.x1 + margin && c.y1 >= u.y0 - margin && c.y0 <= u.y1 + margin;
      if (near || c.mass >= 0.5 * comps[best].mass) {
        kept[i] = 1;
        u.x0 = Math.min(u.x0, c.x0);
        u.y0 = Math.min(u.y0, c.y0);
        u.x1 = Math.max(u.x1, c.x1);
        u.y1 = Math.max(u.y1, c.y1);
        changed = true;
      }
    }
  }
  // grow the kept cores through the faint pixels around them (antialiased edges)
  const keep = new Uint8Array(n);
  let sp = 0;
  for (let i = 0; i < n; i++) {
    if (label[i] >= 0 && kept[label[i]]) {
      keep[i] = 1;
      stack[sp++] = i;
    }
  }
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % w, y = (i - x) / w;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (!keep[j] && v[j] > 0 && label[j] === -1) {
          keep[j] = 1;
          stack[sp++] = j;
        }
      }
    }
  }
  return keep;
}

/** Bounding box [x0, x1) × [y0, y1) of the pixels ≥ t: the geometric extent of antialiased ink. */
function extent(v: Float32Array, w: number, h: number, t: number): { x0: number; y0: number; x1: number; y1: number } | undefined {
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
 * Chamfer (3-4) distance, in pixels, from every pixel to the nearest pixel where `inside` is
 * set: two raster passes, whatever the distance.
 */
function distanceTo(inside: Uint8Array, w: number, h: number): Float32Array {
  const INF = 1e9;
  const d = new Float32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = inside[i] ? 0 : INF;
  const a = 1, b = 4 / 3; // 3-4 chamfer scaled so that an axis step is 1
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let m = d[i];
      if (x > 0) m = Math.min(m, d[i - 1] + a);
      if (y > 0) {
        m = Math.min(m, d[i - w] + a);
        if (x > 0) m = Math.min(m, d[i - w - 1] + b);
        if (x < w - 1) m = Math.min(m, d[i - w + 1] + b);
      }
      d[i] = m;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      let m = d[i];
      if (x < w - 1) m = Math.min(m, d[i + 1] + a);
      if (y < h - 1) {
        m = Math.min(m, d[i + w] + a);
        if (x < w - 1) m = Math.min(m, d[i + w + 1] + b);
        if (x > 0) m = Math.min(m, d[i + w - 1] + b);
      }
      d[i] = m;
    }
  }
  return d;
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

/**
 * Area-averages the square [x0, x0+side) × [y0, y0+side) of `v` (pixels outside are 0) onto a
 * size×size grid: each output pixel is the mean of the source area it covers, fractional
 * coverage included (a box filter, separable in x then y).
 */
export function resampleArea(v: Float32Array, w: number, h: number, x0: number, y0: number, side: number, size: number): Float32Array {
  const scale = side / size;
  const weights = (start: number, limit: number) => {
    // for each output index: list of [source index, covered length]
    const out: [number, number][][] = [];
    for (let o = 0; o < size; o++) {
      const a = start + o * scale, b = a + scale;
      const list: [number, number][] = [];
      for (let s = Math.max(0, Math.floor(a)); s < Math.min(limit, Math.ceil(b)); s++) {
        const cover = Math.min(b, s + 1) - Math.max(a, s);
        if (cover > 0) list.push([s, cover / scale]);
      }
      out.push(list);
    }
    return out;
  };
  const wx = weights(x0, w), wy = weights(y0, h);
  const tmp = new Float32Array(h * size);
  const yStart = Math.max(0, Math.floor(y0)), yEnd = Math.min(h, Math.ceil(y0 + side));
  for (let y = yStart; y < yEnd; y++) {
    for (let o = 0; o < size; o++) {
      let acc = 0;
      for (const [s, c] of wx[o]) acc += v[y * w + s] * c;
      tmp[y * size + o] = acc;
    }
  }
  const out = new Float32Array(size * size);
  for (let o = 0; o < size; o++) {
    for (const [s, c] of wy[o]) {
      for (let x = 0; x < size; x++) out[o * size + x] += tmp[s * size + x] * c;
    }
  }
  return out;
}

/**
 * Places a size×size image in 28×28 shifted by whole pixels so that its centre of mass lands on
 * pixel (14, 14), as MNIST did; returns 8-bit pixels.
 */
export function centreByMass(a: Float32Array, size: number): Uint8Array {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = a[y * size + x];
      m += p;
      mx += p * x;
      my += p * y;
    }
  }
  const ox = m > 0 ? Math.round(SIZE / 2 - mx / m) : (SIZE - size) >> 1;
  const oy = m > 0 ? Math.round(SIZE / 2 - my / m) : (SIZE - size) >> 1;
  const out = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < size; y++) {
    const ty = y + oy;
    if (ty < 0 || ty >= SIZE) continue;
    for (let x = 0; x < size; x++) {
      const tx = x + ox;
      if (tx < 0 || tx >= SIZE) continue;
      out[ty * SIZE + tx] = Math.round(clamp01(a[y * size + x]) * 255);
    }
  }
  return out;
}

/** The model's input: (pixel/255 - mean) / std as a [1, 1, 28, 28] array. */
export function normalizePixels(pixels: Uint8Array, mean: number, std: number): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] / 255 - mean) / std;
  return out;
}
