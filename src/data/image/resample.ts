// From the digit's box to the model's 28×28 input: area averaging, centring by mass, normalisation.
import { clamp01 } from './stats.ts';

export const SIZE = 28;
/** MNIST fits the digit's longer side to this many pixels. */
export const BOX = 20;

/**
 * Area-averages the square [x0, x0+side) × [y0, y0+side) of `v` (pixels outside are 0) onto a
 * size×size grid: each output pixel is the mean of the source area it covers, fractional
 * coverage included (a box filter, separable in x then y).
 */
export function resampleArea(v: Float32Array, w: number, h: number, x0: number, y0: number, side: number, size: number): Float32Array {
  return resampleRect(v, w, h, x0, y0, side, side, size, size);
}

/** The same for the rectangle [x0, x0+sw) × [y0, y0+sh) onto ow×oh pixels. */
export function resampleRect(v: Float32Array, w: number, h: number, x0: number, y0: number, sw: number, sh: number, ow: number, oh: number): Float32Array {
  const wx = taps(x0, sw, ow, w), wy = taps(y0, sh, oh, h);
  // along x for the source rows the rectangle covers, then along y (a function each, so V8
  // compiles each loop on its own)
  const tmp = new Float32Array(h * ow);
  const yStart = Math.max(0, Math.floor(y0)), yEnd = Math.min(h, Math.ceil(y0 + sh));
  alongRows(v, w, yStart, yEnd, wx, tmp, ow);
  const out = new Float32Array(ow * oh);
  alongColumns(tmp, wy, out, ow, oh);
  return out;
}

type Taps = { start: Int32Array; index: Int32Array; weight: Float64Array };

function alongRows(v: Float32Array, w: number, yStart: number, yEnd: number, wx: Taps, tmp: Float32Array, ow: number): void {
  const { start, index, weight } = wx;
  for (let y = yStart; y < yEnd; y++) {
    const row = y * w;
    for (let o = 0; o < ow; o++) {
      let acc = 0;
      for (let t = start[o]; t < start[o + 1]; t++) acc += v[row + index[t]] * weight[t];
      tmp[y * ow + o] = acc;
    }
  }
}

function alongColumns(tmp: Float32Array, wy: Taps, out: Float32Array, ow: number, oh: number): void {
  const { start, index, weight } = wy;
  for (let o = 0; o < oh; o++) {
    for (let t = start[o]; t < start[o + 1]; t++) {
      const src = index[t] * ow, c = weight[t];
      for (let x = 0; x < ow; x++) out[o * ow + x] += tmp[src + x] * c;
    }
  }
}

/**
 * resampleRect on three planes at once (a picture's r, g, b), each plane's arithmetic exactly as
 * resampleRect's: one loop reads the taps once for all three.
 */
export function resampleRect3(planes: [Float32Array, Float32Array, Float32Array], w: number, h: number, x0: number, y0: number, sw: number, sh: number, ow: number, oh: number): [Float32Array, Float32Array, Float32Array] {
  const wx = taps(x0, sw, ow, w), wy = taps(y0, sh, oh, h);
  const [a, b, c] = planes;
  const ta = new Float32Array(h * ow), tb = new Float32Array(h * ow), tc = new Float32Array(h * ow);
  const yStart = Math.max(0, Math.floor(y0)), yEnd = Math.min(h, Math.ceil(y0 + sh));
  alongRows3(a, b, c, w, yStart, yEnd, wx, ta, tb, tc, ow);
  const oa = new Float32Array(ow * oh), ob = new Float32Array(ow * oh), oc = new Float32Array(ow * oh);
  alongColumns3(ta, tb, tc, wy, oa, ob, oc, ow, oh);
  return [oa, ob, oc];
}

function alongRows3(a: Float32Array, b: Float32Array, c: Float32Array, w: number, yStart: number, yEnd: number, wx: Taps, ta: Float32Array, tb: Float32Array, tc: Float32Array, ow: number): void {
  const { start, index, weight } = wx;
  for (let y = yStart; y < yEnd; y++) {
    const row = y * w;
    for (let o = 0; o < ow; o++) {
      let accA = 0, accB = 0, accC = 0;
      for (let t = start[o]; t < start[o + 1]; t++) {
        const i = row + index[t], f = weight[t];
        accA += a[i] * f;
        accB += b[i] * f;
        accC += c[i] * f;
      }
      ta[y * ow + o] = accA;
      tb[y * ow + o] = accB;
      tc[y * ow + o] = accC;
    }
  }
}

function alongColumns3(ta: Float32Array, tb: Float32Array, tc: Float32Array, wy: Taps, oa: Float32Array, ob: Float32Array, oc: Float32Array, ow: number, oh: number): void {
  const { start, index, weight } = wy;
  for (let o = 0; o < oh; o++) {
    for (let t = start[o]; t < start[o + 1]; t++) {
      const src = index[t] * ow, f = weight[t];
      for (let x = 0, j = o * ow; x < ow; x++, j++) {
        oa[j] += ta[src + x] * f;
        ob[j] += tb[src + x] * f;
        oc[j] += tc[src + x] * f;
      }
    }
  }
}

/**
 * For each of `size` output pixels spanning [start, start+span) of a source axis of `limit`
 * pixels: the source pixels it covers (index[start[o] .. start[o+1])) and the fraction of the
 * output pixel each covers (weight).
 */
function taps(start: number, span: number, size: number, limit: number): Taps {
  const scale = span / size;
  const first = new Int32Array(size + 1), index: number[] = [], weight: number[] = [];
  for (let o = 0; o < size; o++) {
    first[o] = index.length;
    const a = start + o * scale, b = a + scale;
    for (let s = Math.max(0, Math.floor(a)); s < Math.min(limit, Math.ceil(b)); s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      if (cover > 0) {
        index.push(s);
        weight.push(cover / scale);
      }
    }
  }
  first[size] = index.length;
  return { start: first, index: Int32Array.from(index), weight: Float64Array.from(weight) };
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
