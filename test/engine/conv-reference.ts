// Shared references for the convolution kernel tests: the definition as float64 loops, random
// inputs, and 3x3 stride-1 geometries.
import { convOutSize, type Conv2dGeometry } from '../../src/engine/conv2d.ts';
import type { Rng } from '../../src/engine/rng.ts';

// Reference: the definition as direct float64 loops over (n, o, y, x, c, i, j).
export function naiveConv2d(g: Conv2dGeometry, x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array) {
  const { n, cIn, h, w: W, cOut, groups, kH, kW, sH, sW, dH, dW, padTop, padLeft, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups;
  const y = new Float64Array(n * cOut * outH * outW);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(cOut);
  for (let img = 0; img < n; img++) for (let o = 0; o < cOut; o++) {
    const grp = Math.floor(o / og);
    for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
      const q = ((img * cOut + o) * outH + oy) * outW + ox;
      let s = b ? b[o] : 0;
      db[o] += dy[q];
      for (let c = 0; c < cg; c++) for (let i = 0; i < kH; i++) for (let j = 0; j < kW; j++) {
        const iy = oy * sH + i * dH - padTop, ix = ox * sW + j * dW - padLeft;
        if (iy < 0 || iy >= h || ix < 0 || ix >= W) continue;
        const xi = ((img * cIn + grp * cg + c) * h + iy) * W + ix;
        const wi = ((o * cg + c) * kH + i) * kW + j;
        s += w[wi] * x[xi];
        dw[wi] += dy[q] * x[xi];
        dx[xi] += dy[q] * w[wi];
      }
      y[q] = s;
    }
  }
  return { y, dx, dw, db };
}

export function rand(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** A 3x3, stride 1, dilation 1 geometry with the given padding. */
export function geometry3x3(n: number, cIn: number, cOut: number, groups: number, h: number, w: number, padTop: number, padLeft: number, padBottom = padTop, padRight = padLeft): Conv2dGeometry {
  return {
    n, cIn, h, w, cOut, groups, kH: 3, kW: 3, sH: 1, sW: 1, dH: 1, dW: 1, padTop, padLeft,
    outH: convOutSize(h, 3, 1, padTop, padBottom, 1), outW: convOutSize(w, 3, 1, padLeft, padRight, 1),
  };
}

/** 3x3 stride-1 geometries for the Winograd paths: odd sizes, every padding, groups, chunks. */
export function winogradCases(): [string, Conv2dGeometry][] {
  return [
    ['the W-CNN conv2 shape (16->32, 14x14, pad 1)', geometry3x3(2, 16, 32, 1, 14, 14, 1, 1)],
    ['odd output size (pad 1, 9x7)', geometry3x3(3, 8, 8, 1, 9, 7, 1, 1)],
    ['no padding', geometry3x3(2, 8, 12, 1, 8, 9, 0, 0)],
    ['padding 2 (output larger than input)', geometry3x3(1, 9, 8, 1, 5, 6, 2, 2)],
    ['asymmetric bottom/right padding', geometry3x3(2, 8, 8, 1, 6, 7, 0, 1, 1, 2)],
    ['two groups of 8 channels', geometry3x3(2, 16, 16, 2, 7, 8, 1, 1)],
    ['12 images of 14x14: several tile chunks', geometry3x3(12, 8, 8, 1, 14, 14, 1, 1)],
    ['a 1x1 output', geometry3x3(1, 8, 8, 1, 3, 3, 0, 0)],
    ['4 output channels: dx through im2col, y and dweight through Winograd', geometry3x3(2, 8, 4, 1, 6, 5, 1, 1)],
    ['4 input channels: y and dweight through im2col, dx through Winograd', geometry3x3(2, 4, 8, 1, 5, 6, 1, 1)],
  ];
}
