// Direct 3x3 stride-1 convolution for single-channel inputs (a grayscale first layer), where
// im2col + GEMM has K = 9 and spends more time copying than multiplying: the nine weights stay
// in registers and a 3x3 window slides along each output row, one new input column per step.
//
// x: [N, C, H, W] with one channel per group  weight: [O, 1, 3, 3]  ->  y: [N, O, outH, outW]
// Each input plane is copied once into a zero-bordered float64 scratch plane of
// (outH + 2) x (outW + 2), so the window never needs a bounds check.
import type { Conv2dGeometry } from './conv-geometry.ts';
import { growScratch } from './gemm.ts';

let plane: Float64Array = new Float64Array(0);

/** 3x3 kernel, stride 1, no dilation, padding <= 2, one input channel per group. */
export function directConvApplies(g: Conv2dGeometry): boolean {
  return g.kH === 3 && g.kW === 3 && g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 &&
    g.padTop <= 2 && g.padLeft <= 2 && g.cIn === g.groups;
}

/** y = conv2d(x, weight) + bias for geometries where directConvApplies. */
export function conv3x3Direct(g: Conv2dGeometry, x: Float32Array, weight: Float32Array, bias: Float32Array | null, y: Float32Array): void {
  const { n, cIn, h: H, w: W, cOut, groups, outH, outW, padTop, padLeft } = g;
  const og = cOut / groups;
  const PH = outH + 2, PW = outW + 2;
  plane = growScratch(plane, PH * PW);
  const P = plane;
  P.fill(0, 0, PH * PW);
  // the input rows and columns that land inside the scratch plane (the rest is padding)
  const rows = Math.min(H, PH - padTop), cols = Math.min(W, PW - padLeft);
  const outPlane = outH * outW;
  for (let img = 0; img < n; img++) {
    for (let c = 0; c < cIn; c++) {
      const xBase = (img * cIn + c) * H * W;
      for (let yy = 0; yy < rows; yy++) {
        for (let xx = 0, p = (yy + padTop) * PW + padLeft, q = xBase + yy * W; xx < cols; xx++) P[p + xx] = x[q + xx];
      }
      for (let oo = 0; oo < og; oo++) {
        const o = c * og + oo;
        const q = o * 9;
        const w0 = weight[q], w1 = weight[q + 1], w2 = weight[q + 2];
        const w3 = weight[q + 3], w4 = weight[q + 4], w5 = weight[q + 5];
        const w6 = weight[q + 6], w7 = weight[q + 7], w8 = weight[q + 8];
        const b = bias ? bias[o] : 0;
        let out = (img * cOut + o) * outPlane;
        for (let oy = 0; oy < outH; oy++) {
          const r0 = oy * PW, r1 = r0 + PW, r2 = r1 + PW;
          let a0 = P[r0], a1 = P[r0 + 1];
          let b0 = P[r1], b1 = P[r1 + 1];
          let c0 = P[r2], c1 = P[r2 + 1];
          for (let ox = 0; ox < outW; ox++, out++) {
            const a2 = P[r0 + ox + 2], b2 = P[r1 + ox + 2], c2 = P[r2 + ox + 2];
            y[out] = b + (w0 * a0 + w1 * a1 + w2 * a2) + (w3 * b0 + w4 * b1 + w5 * b2) + (w6 * c0 + w7 * c1 + w8 * c2);
            a0 = a1; a1 = a2;
            b0 = b1; b1 = b2;
            c0 = c1; c1 = c2;
          }
        }
      }
    }
  }
}
