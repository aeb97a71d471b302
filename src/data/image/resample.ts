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
