// The working copy of a picture: alpha composited, area-averaged to a bounded size, r/g/b/luma in 0..1.
import type { RgbaImage } from '../image-io.ts';
import { resampleRect3 } from './resample.ts';

/** Rec. 601 luma weights. */
export const LR = 0.299, LG = 0.587, LB = 0.114;

export interface Working {
  w: number;
  h: number;
  /** Source pixels per working pixel along each axis (not always a whole number). */
  k: number;
  r: Float32Array;
  g: Float32Array;
  b: Float32Array;
  lum: Float32Array;
}

/**
 * Composites alpha onto `color` and area-averages to at most maxSide pixels a side: r, g, b, luma
 * in 0..1. (For an opaque picture, opaqueWorking is quicker.)
 */
export function toWorking(img: RgbaImage, color: [number, number, number], maxSide: number): Working {
  const { k, w, h } = blockSize(img, maxSide);
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
  for (let i = 0; i < w * h; i++) {
    r[i] /= cnt[i];
    g[i] /= cnt[i];
    b[i] /= cnt[i];
  }
  return toSide(w, h, k, [r, g, b], maxSide);
}

/**
 * The first, whole-block stage: blocks of k×k source pixels, k as large as leaves at least
 * maxSide pixels on the longer side (toSide takes it the rest of the way).
 */
function blockSize(img: RgbaImage, maxSide: number): { k: number; w: number; h: number } {
  const k = Math.max(1, Math.floor(Math.max(img.width, img.height) / maxSide));
  return { k, w: Math.ceil(img.width / k), h: Math.ceil(img.height / k) };
}

/**
 * Brings a block-averaged copy down to maxSide on its longer side by area averaging (the
 * fraction of a working pixel left over at the right and bottom is dropped), and works out luma.
 */
function toSide(w0: number, h0: number, k: number, rgb: Float32Array[], maxSide: number): Working {
  const f = Math.max(w0, h0) / maxSide;
  if (f <= 1) {
    const [r, g, b] = rgb;
    return { w: w0, h: h0, k, r, g, b, lum: luma(r, g, b) };
  }
  const w = Math.max(1, Math.floor(w0 / f)), h = Math.max(1, Math.floor(h0 / f));
  const [r, g, b] = resampleRect3([rgb[0], rgb[1], rgb[2]], w0, h0, 0, 0, w * f, h * f, w, h);
  return { w, h, k: k * f, r, g, b, lum: luma(r, g, b) };
}

function luma(r: Float32Array, g: Float32Array, b: Float32Array): Float32Array {
  const lum = new Float32Array(r.length);
  // the weights as locals: the loop runs uncompiled at first, where a module's binding is a context lookup each read
  const lr = LR, lg = LG, lb = LB;
  for (let i = 0; i < r.length; i++) lum[i] = lr * r[i] + lg * g[i] + lb * b[i];
  return lum;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The working copy of an opaque picture, or undefined when a pixel it reads is not opaque (then
 * use chooseComposite and toWorking): the same averages as toWorking, read a 32-bit pixel at a
 * time. When a block is 4 or more pixels a side, the average is taken over every other row
 * and column of it: a quarter of a 12-megapixel photo is plenty to average its blocks, and
 * reading all of it would be most of the time spent on it. (Pixels it skips are not checked for
 * transparency; a transparent area larger than one pixel is always seen.)
 */
export function opaqueWorking(img: RgbaImage, maxSide: number): Working | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  const { k, w, h } = blockSize(img, maxSide);
  const W = img.width, H = img.height, d = img.data;
  const step = k >= 4 ? Math.max(2, Math.ceil(k / 3)) : 1;
  // one word a pixel, RGBA in memory: r is the low byte, alpha the high one
  const words = d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, W * H) : new Uint32Array(d.slice(0, W * H * 4).buffer);
  // the columns read, and the block each falls in
  let nx = 0;
  for (let X = 0; X < w; X++) nx += Math.ceil((Math.min(W, (X + 1) * k) - X * k) / step);
  const cols = new Int32Array(nx), colBlock = new Int32Array(nx), perRow = new Int32Array(w);
  for (let X = 0, t = 0; X < w; X++) {
    for (let x = X * k, xEnd = Math.min(W, (X + 1) * k); x < xEnd; x += step, t++) {
      cols[t] = x;
      colBlock[t] = X;
      perRow[X]++;
    }
  }
  // red and blue summed together, in the low and high 16 bits: a block is at most 3×3 samples
  // (k ≥ 4) or k×k pixels (k ≤ 3), far below 65536 / 255
  const rb = new Int32Array(w), gs = new Int32Array(w);
  const r = new Float32Array(w * h), g = new Float32Array(w * h), b = new Float32Array(w * h);
  for (let Y = 0; Y < h; Y++) {
    const y0 = Y * k, yEnd = Math.min(H, (Y + 1) * k);
    if (sumBlockRow(words, W, y0, yEnd, step, cols, colBlock, rb, gs) >>> 24 !== 0xff) return undefined;
    blockMeans(rb, gs, perRow, Math.ceil((yEnd - y0) / step), Y * w, r, g, b);
  }
  return toSide(w, h, k, [r, g, b], maxSide);
}

/**
 * Adds up the pixels of rows y0, y0 + step, ... < yEnd at columns `cols` into their blocks
 * (`colBlock`): red + 65536·blue into `rb`, green into `gs` (both cleared first). Returns the AND
 * of the pixels read (its high byte is 255 when all were opaque).
 */
function sumBlockRow(words: Uint32Array, W: number, y0: number, yEnd: number, step: number, cols: Int32Array, colBlock: Int32Array, rb: Int32Array, gs: Int32Array): number {
  rb.fill(0);
  gs.fill(0);
  let and = -1;
  for (let y = y0; y < yEnd; y += step) {
    const o = y * W;
    for (let t = 0; t < cols.length; t++) {
      const v = words[o + cols[t]], X = colBlock[t];
      and &= v;
      rb[X] += v & 0xff00ff;
      gs[X] += (v >>> 8) & 255;
    }
  }
  return and;
}

/** One row of blocks' means in 0..1, from sumBlockRow's sums over `rows` rows of `perRow[X]` pixels, at `at` in r, g, b. */
function blockMeans(rb: Int32Array, gs: Int32Array, perRow: Int32Array, rows: number, at: number, r: Float32Array, g: Float32Array, b: Float32Array): void {
  for (let X = 0; X < rb.length; X++) {
    const j = at + X, c = 255 * (rows * perRow[X]);
    r[j] = (rb[X] & 0xffff) / c;
    g[j] = gs[X] / c;
    b[j] = (rb[X] >>> 16) / c;
  }
}

/**
 * Luma of the source rectangle [sx0, sx0 + ow·f) × [sy0, sy0 + oh·f) of an opaque picture,
 * averaged over f×f blocks (every other row and column of a block when f is 4 or more, as
 * opaqueWorking reads it): a finer copy of one part of the picture than the working copy.
 * Blocks past the picture's right or bottom edge average what of them lies inside. With `want`
 * (ow×oh), only the blocks it marks are read; the rest stay 0.
 */
export function opaqueLuma(img: RgbaImage, sx0: number, sy0: number, f: number, ow: number, oh: number, want?: Uint8Array): Float32Array {
  const W = img.width, H = img.height, d = img.data;
  const step = f >= 4 ? Math.max(2, Math.ceil(f / 3)) : 1;
  const out = new Float32Array(ow * oh);
  for (let Y = 0; Y < oh; Y++) {
    const yEnd = Math.min(H, sy0 + (Y + 1) * f);
    for (let X = 0; X < ow; X++) {
      if (want && !want[Y * ow + X]) continue;
      const xEnd = Math.min(W, sx0 + (X + 1) * f);
      let acc = 0, c = 0;
      for (let y = sy0 + Y * f; y < yEnd; y += step) {
        for (let x = sx0 + X * f, p = (y * W + x) * 4; x < xEnd; x += step, p += 4 * step, c++) acc += LR * d[p] + LG * d[p + 1] + LB * d[p + 2];
      }
      out[Y * ow + X] = c ? acc / (255 * c) : 0;
    }
  }
  return out;
}
