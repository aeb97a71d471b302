// Winograd F(2x2, 3x3) convolution (Lavin & Gray, 2015) for 3x3, stride-1, undilated kernels:
// each 2x2 output tile takes 16 products in the transformed domain instead of 36, done as 16
// GEMMs over channels. Used for the forward pass and for dx (a 3x3 correlation of dy with the
// flipped, transposed kernel).
//
// x: [N, xChannels, H, W] (channels xc0 .. xc0+cIn)  ->  y: [N, yChannels, outH, outW] (yc0 .. yc0+cOut)
// For tile t at (ty, tx), d = the 4x4 input patch at (2ty - padTop, 2tx - padLeft), zero outside:
//   U[e] = G g G^T          [cOut, cIn]  per kernel g = weight[o, c], e = 4i + j
//   V[e] = B^T d B          [cIn, T]     per (c, tile); T = tiles of a chunk of images
//   M[e] = U[e] · V[e]      [cOut, T]    16 GEMMs (gemmPacked)
//   y    = A^T M A          per (o, tile), cropped to outH x outW, plus bias
// y is linear in U, so the weight gradient runs the same transforms backwards:
//   D[e]  = A dy A^T        [cOut, T]    per (o, tile), dy zero outside outH x outW
//   dU[e] = D[e] · V[e]^T   [cOut, cIn]  16 GEMMs with K = T
//   dg   += G^T dU G        per (o, c)
import { MR as GEMM_MR, NR as GEMM_NR, gemmPacked, growScratch, packA, packedSize } from './gemm.ts';

// NOTE: local copies, because an imported binding read in a hot loop can cost a getter call per
// read once the module is transpiled (it showed as 8% of a CNN training step).
const MR = GEMM_MR;
const NR = GEMM_NR;

/** Shapes and offsets of one Winograd convolution call. */
export interface WinogradGeometry {
  n: number;
  /** Input channels used (one group's), the input tensor's channel count and the first one used. */
  cIn: number; xChannels: number; xc0: number;
  h: number; w: number;
  /** Output channels written, the output tensor's channel count and the first one written. */
  cOut: number; yChannels: number; yc0: number;
  outH: number; outW: number;
  /** Zero rows above / columns left of the input (may be 0..2). */
  padTop: number; padLeft: number;
}

// Tiles per chunk: keeps V (float64) and M near L2 size for 16-32 channels.
const TILE_TARGET = 512;

let uScratch = new Float32Array(0);
let vScratch: Float64Array = new Float64Array(0);
let mScratch = new Float32Array(0);
let dScratch: Float64Array = new Float64Array(0);
let padScratch: Float64Array = new Float64Array(0);

/**
 * Transforms 3x3 kernels into 16 packed A panels (one per e) of [rows, K] in `out`:
 * forward: rows = cOut (o), K = cIn (c), from weight[wOff + (o*cIn + c)*9];
 * flipped (for dx): rows = cIn, K = cOut, U[e][c][o] from the kernel weight[o, c] rotated 180°.
 * weight is [cOut, cIn, 3, 3] starting at wOff. Returns the floats per e (the panel stride).
 */
export function winogradWeights(weight: Float32Array, wOff: number, cOut: number, cIn: number, flip: boolean, out: Float64Array): number {
  const rows = flip ? cIn : cOut, K = flip ? cOut : cIn;
  const u = winogradKernels(weight, wOff, cOut, cIn, flip);
  const stride = packedSize(rows, K, MR);
  for (let e = 0; e < 16; e++) packA(rows, K, u, e * rows * K, K, 1, out, e * stride);
  return stride;
}

/**
 * U[e] = G g Gᵀ of every 3x3 kernel, unpacked: [16][rows, K] with rows = cOut, K = cIn (or
 * rows = cIn, K = cOut and each kernel rotated 180° when flip). A scratch array, valid until the
 * next call.
 */
export function winogradKernels(weight: Float32Array, wOff: number, cOut: number, cIn: number, flip: boolean): Float32Array {
  const rows = flip ? cIn : cOut, K = flip ? cOut : cIn;
  const per = rows * K;
  if (uScratch.length < 16 * per) uScratch = new Float32Array(16 * per);
  const u = uScratch;
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      const q = wOff + (o * cIn + c) * 9;
      let g0 = weight[q], g1 = weight[q + 1], g2 = weight[q + 2];
      let g3 = weight[q + 3], g4 = weight[q + 4], g5 = weight[q + 5];
      let g6 = weight[q + 6], g7 = weight[q + 7], g8 = weight[q + 8];
      if (flip) {
        let t = g0; g0 = g8; g8 = t;
        t = g1; g1 = g7; g7 = t;
        t = g2; g2 = g6; g6 = t;
        t = g3; g3 = g5; g5 = t;
      }
      // G g: rows [g_r0, (g_r0+g_r1+g_r2)/2, (g_r0-g_r1+g_r2)/2, g_r2] over the kernel's rows
      const a0 = g0, a1 = g1, a2 = g2;
      const b0 = (g0 + g3 + g6) / 2, b1 = (g1 + g4 + g7) / 2, b2 = (g2 + g5 + g8) / 2;
      const c0 = (g0 - g3 + g6) / 2, c1 = (g1 - g4 + g7) / 2, c2 = (g2 - g5 + g8) / 2;
      const d0 = g6, d1 = g7, d2 = g8;
      // (G g) G^T, row by row
      const p = (flip ? c * K + o : o * K + c);
      u[p] = a0; u[per + p] = (a0 + a1 + a2) / 2; u[2 * per + p] = (a0 - a1 + a2) / 2; u[3 * per + p] = a2;
      u[4 * per + p] = b0; u[5 * per + p] = (b0 + b1 + b2) / 2; u[6 * per + p] = (b0 - b1 + b2) / 2; u[7 * per + p] = b2;
      u[8 * per + p] = c0; u[9 * per + p] = (c0 + c1 + c2) / 2; u[10 * per + p] = (c0 - c1 + c2) / 2; u[11 * per + p] = c2;
      u[12 * per + p] = d0; u[13 * per + p] = (d0 + d1 + d2) / 2; u[14 * per + p] = (d0 - d1 + d2) / 2; u[15 * per + p] = d2;
    }
  }
  return u;
}

/** Floats winogradWeights writes for rows x K kernels. */
export function winogradWeightsSize(rows: number, K: number): number {
  return 16 * packedSize(rows, K, MR);
}

/**
 * y (channels yc0..) = winograd(x, U) + bias, overwriting y's cropped tiles. U comes from
 * winogradWeights (uStride floats per e, rows = cOut, K = cIn).
 */
export function winogradConv(
  g: WinogradGeometry, x: Float32Array, U: Float64Array, uStride: number,
  bias: Float32Array | null, biasOff: number, y: Float32Array,
): void {
  const { n, cIn, cOut, outH, outW } = g;
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, perImage = tilesH * tilesW;
  const chunk = Math.max(1, Math.min(n, Math.floor(TILE_TARGET / perImage)));
  const maxT = chunk * perImage;
  const vStride = packedSize(maxT, cIn, NR);
  vScratch = growScratch(vScratch, 16 * vStride);
  if (mScratch.length < 16 * cOut * maxT) mScratch = new Float32Array(16 * cOut * maxT);
  const V = vScratch, M = mScratch;
  for (let img0 = 0; img0 < n; img0 += chunk) {
    const imgs = Math.min(chunk, n - img0);
    const T = imgs * perImage;
    inputTransform(g, x, img0, imgs, V, vStride);
    for (let e = 0; e < 16; e++) gemmPacked(cOut, T, cIn, U, e * uStride, V, e * vStride, M, e * cOut * T, T, false);
    outputTransform(g, M, T, img0, imgs, bias, biasOff, y);
  }
}

/**
 * dweight (+)= the gradient of winogradConv's y with respect to the forward kernels, for
 * upstream gradient dy (channels yc0.. of [N, yChannels, outH, outW]); dweight is
 * [cOut, cIn, 3, 3] starting at wOff.
 */
export function winogradDweight(g: WinogradGeometry, x: Float32Array, dy: Float32Array, dweight: Float32Array, wOff: number): void {
  const { n, cIn, cOut, outH, outW } = g;
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, perImage = tilesH * tilesW;
  const chunk = Math.max(1, Math.min(n, Math.floor(TILE_TARGET / perImage)));
  const maxT = chunk * perImage;
  const vStride = packedSize(cIn, maxT, NR), dStride = packedSize(cOut, maxT, MR);
  vScratch = growScratch(vScratch, 16 * vStride);
  dScratch = growScratch(dScratch, 16 * dStride);
  const per = cOut * cIn;
  if (mScratch.length < 16 * per) mScratch = new Float32Array(16 * per);
  const V = vScratch, D = dScratch, dU = mScratch;
  for (let img0 = 0; img0 < n; img0 += chunk) {
    const imgs = Math.min(chunk, n - img0);
    const T = imgs * perImage;
    // V[e] as B panels [T, cIn] (NR channels per panel), D[e] as A panels [cOut, T]
    inputTransform(g, x, img0, imgs, V, vStride, T);
    gradTransform(g, dy, img0, imgs, D, dStride, T);
    for (let e = 0; e < 16; e++) gemmPacked(cOut, cIn, T, D, e * dStride, V, e * vStride, dU, e * per, cIn, img0 > 0);
  }
  winogradKernelGrad(dU, 0, per, cOut, cIn, dweight, wOff);
}

/**
 * dweight[wOff ..] (+)= Gᵀ dU[e] G per kernel: dU is [16][cOut, cIn] from dU[dOff], the matrices
 * `per` floats apart; dweight is [cOut, cIn, 3, 3].
 */
export function winogradKernelGrad(dU: Float32Array, dOff: number, per: number, cOut: number, cIn: number, dweight: Float32Array, wOff: number): void {
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      const pw = o * cIn + c, p = dOff + pw;
      const u00 = dU[p], u01 = dU[p + per], u02 = dU[p + 2 * per], u03 = dU[p + 3 * per];
      const u10 = dU[p + 4 * per], u11 = dU[p + 5 * per], u12 = dU[p + 6 * per], u13 = dU[p + 7 * per];
      const u20 = dU[p + 8 * per], u21 = dU[p + 9 * per], u22 = dU[p + 10 * per], u23 = dU[p + 11 * per];
      const u30 = dU[p + 12 * per], u31 = dU[p + 13 * per], u32 = dU[p + 14 * per], u33 = dU[p + 15 * per];
      // G^T dU: rows [u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3]
      const a0 = u00 + (u10 + u20) / 2, a1 = u01 + (u11 + u21) / 2, a2 = u02 + (u12 + u22) / 2, a3 = u03 + (u13 + u23) / 2;
      const b0 = (u10 - u20) / 2, b1 = (u11 - u21) / 2, b2 = (u12 - u22) / 2, b3 = (u13 - u23) / 2;
      const c0 = (u10 + u20) / 2 + u30, c1 = (u11 + u21) / 2 + u31, c2 = (u12 + u22) / 2 + u32, c3 = (u13 + u23) / 2 + u33;
      // (G^T dU) G, the same across columns
      const q = wOff + pw * 9;
      dweight[q] += a0 + (a1 + a2) / 2; dweight[q + 1] += (a1 - a2) / 2; dweight[q + 2] += (a1 + a2) / 2 + a3;
      dweight[q + 3] += b0 + (b1 + b2) / 2; dweight[q + 4] += (b1 - b2) / 2; dweight[q + 5] += (b1 + b2) / 2 + b3;
      dweight[q + 6] += c0 + (c1 + c2) / 2; dweight[q + 7] += (c1 - c2) / 2; dweight[q + 8] += (c1 + c2) / 2 + c3;
    }
  }
}

// D[e] = A dy A^T per (o, tile) as packed A panels [cOut, T]: row o, column t at
// e*dStride + floor(o/MR)*MR*T + t*MR + o%MR. A dy A^T maps rows [y0, y1] to [y0, y0+y1, y0-y1, -y1].
function gradTransform(g: WinogradGeometry, dy: Float32Array, img0: number, imgs: number, D: Float64Array, dStride: number, T: number): void {
  const { cOut, yChannels, yc0, outH, outW } = g;
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, perImage = tilesH * tilesW;
  const plane = outH * outW;
  for (let im = 0; im < imgs; im++) {
    for (let o = 0; o < cOut; o++) {
      const base = ((img0 + im) * yChannels + yc0 + o) * plane;
      const panel = ((o / MR) | 0) * MR * T + (o % MR);
      for (let ty = 0; ty < tilesH; ty++) {
        const oy = 2 * ty;
        const below = oy + 1 < outH;
        for (let tx = 0; tx < tilesW; tx++) {
          const ox = 2 * tx;
          const right = ox + 1 < outW;
          const q = base + oy * outW + ox;
          const y00 = dy[q], y01 = right ? dy[q + 1] : 0;
          const y10 = below ? dy[q + outW] : 0, y11 = below && right ? dy[q + outW + 1] : 0;
          // A dy: rows [y0, y0 + y1, y0 - y1, -y1]; then the same across columns
          const s0 = y00 + y10, s1 = y01 + y11, d0 = y00 - y10, d1 = y01 - y11;
          const p = panel + (im * perImage + ty * tilesW + tx) * MR;
          const e1 = dStride, e2 = 2 * dStride, e3 = 3 * dStride;
          D[p] = y00; D[p + e1] = y00 + y01; D[p + e2] = y00 - y01; D[p + e3] = -y01;
          let r = p + 4 * dStride;
          D[r] = s0; D[r + e1] = s0 + s1; D[r + e2] = s0 - s1; D[r + e3] = -s1;
          r += 4 * dStride;
          D[r] = d0; D[r + e1] = d0 + d1; D[r + e2] = d0 - d1; D[r + e3] = -d1;
          r += 4 * dStride;
          D[r] = -y10; D[r + e1] = -(y10 + y11); D[r + e2] = y11 - y10; D[r + e3] = y11;
        }
      }
    }
  }
}

// V[e] = B^T d B per (c, tile). With kIsTiles false (the forward GEMM, K = cIn): packed B panels
// of NR tiles, column t, row c at e*vStride + floor(t/NR)*NR*cIn + c*NR + t%NR. With T given
// (the weight-gradient GEMM, K = T): panels of NR channels, column c, row t at
// e*vStride + floor(c/NR)*NR*T + t*NR + c%NR.
function inputTransform(g: WinogradGeometry, x: Float32Array, img0: number, imgs: number, V: Float64Array, vStride: number, kIsTilesT = 0): void {
  const { cIn, xChannels, xc0, h: H, w: W, outH, outW, padTop, padLeft } = g;
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, perImage = tilesH * tilesW;
  const plane = H * W;
  // Each input plane is first copied into a zero-bordered scratch plane covering every tile's
  // 4x4 patch, so the tile loop below has no bounds checks (half the tiles of a 14x14 plane touch
  // the padding). The border stays zero: every plane writes the same interior cells.
  const PH = 2 * tilesH + 2, PW = 2 * tilesW + 2;
  padScratch = growScratch(padScratch, PH * PW);
  const P = padScratch;
  P.fill(0, 0, PH * PW);
  const rows = Math.min(H, PH - padTop), cols = Math.min(W, PW - padLeft);
  const s1 = vStride, s2 = 2 * vStride, s3 = 3 * vStride, s4 = 4 * vStride, s5 = 5 * vStride, s6 = 6 * vStride, s7 = 7 * vStride;
  const s8 = 8 * vStride, s9 = 9 * vStride, s10 = 10 * vStride, s11 = 11 * vStride, s12 = 12 * vStride, s13 = 13 * vStride;
  const s14 = 14 * vStride, s15 = 15 * vStride;
  for (let im = 0; im < imgs; im++) {
    for (let c = 0; c < cIn; c++) {
      const xBase = ((img0 + im) * xChannels + xc0 + c) * plane;
      for (let yy = 0; yy < rows; yy++) {
        for (let xx = 0, p = (yy + padTop) * PW + padLeft, q = xBase + yy * W; xx < cols; xx++) P[p + xx] = x[q + xx];
      }
      for (let ty = 0; ty < tilesH; ty++) {
        for (let tx = 0; tx < tilesW; tx++) {
          let q = 2 * ty * PW + 2 * tx;
          const d00 = P[q], d01 = P[q + 1], d02 = P[q + 2], d03 = P[q + 3];
          q += PW;
          const d10 = P[q], d11 = P[q + 1], d12 = P[q + 2], d13 = P[q + 3];
          q += PW;
          const d20 = P[q], d21 = P[q + 1], d22 = P[q + 2], d23 = P[q + 3];
          q += PW;
          const d30 = P[q], d31 = P[q + 1], d32 = P[q + 2], d33 = P[q + 3];
          // B^T d: rows [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
          const r00 = d00 - d20, r01 = d01 - d21, r02 = d02 - d22, r03 = d03 - d23;
          const r10 = d10 + d20, r11 = d11 + d21, r12 = d12 + d22, r13 = d13 + d23;
          const r20 = d20 - d10, r21 = d21 - d11, r22 = d22 - d12, r23 = d23 - d13;
          const r30 = d10 - d30, r31 = d11 - d31, r32 = d12 - d32, r33 = d13 - d33;
          // (B^T d) B: the same combination across columns
          const t = im * perImage + ty * tilesW + tx;
          const p = kIsTilesT > 0
            ? ((c / NR) | 0) * NR * kIsTilesT + t * NR + (c % NR)
            : ((t / NR) | 0) * NR * cIn + c * NR + (t % NR);
          V[p] = r00 - r02; V[p + s1] = r01 + r02; V[p + s2] = r02 - r01; V[p + s3] = r01 - r03;
          V[p + s4] = r10 - r12; V[p + s5] = r11 + r12; V[p + s6] = r12 - r11; V[p + s7] = r11 - r13;
          V[p + s8] = r20 - r22; V[p + s9] = r21 + r22; V[p + s10] = r22 - r21; V[p + s11] = r21 - r23;
          V[p + s12] = r30 - r32; V[p + s13] = r31 + r32; V[p + s14] = r32 - r31; V[p + s15] = r31 - r33;
        }
      }
    }
  }
}

// M[e] = [cOut, T] at e*cOut*T; y = A^T m A with A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].
function outputTransform(
  g: WinogradGeometry, M: Float32Array, T: number, img0: number, imgs: number,
  bias: Float32Array | null, biasOff: number, y: Float32Array,
): void {
  const { cOut, yChannels, yc0, outH, outW } = g;
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, perImage = tilesH * tilesW;
  const es = cOut * T;
  const plane = outH * outW;
  for (let im = 0; im < imgs; im++) {
    for (let o = 0; o < cOut; o++) {
      const b = bias ? bias[biasOff + o] : 0;
      const yBase = ((img0 + im) * yChannels + yc0 + o) * plane;
      let q = o * T + im * perImage;
      for (let ty = 0; ty < tilesH; ty++) {
        const oy = 2 * ty;
        for (let tx = 0; tx < tilesW; tx++, q++) {
          const m00 = M[q], m01 = M[q + es], m02 = M[q + 2 * es], m03 = M[q + 3 * es];
          const m10 = M[q + 4 * es], m11 = M[q + 5 * es], m12 = M[q + 6 * es], m13 = M[q + 7 * es];
          const m20 = M[q + 8 * es], m21 = M[q + 9 * es], m22 = M[q + 10 * es], m23 = M[q + 11 * es];
          const m30 = M[q + 12 * es], m31 = M[q + 13 * es], m32 = M[q + 14 * es], m33 = M[q + 15 * es];
          // A^T m: two rows
          const a0 = m00 + m10 + m20, a1 = m01 + m11 + m21, a2 = m02 + m12 + m22, a3 = m03 + m13 + m23;
          const b0 = m10 - m20 - m30, b1 = m11 - m21 - m31, b2 = m12 - m22 - m32, b3 = m13 - m23 - m33;
          const ox = 2 * tx;
          const p = yBase + oy * outW + ox;
          y[p] = a0 + a1 + a2 + b;
          const right = ox + 1 < outW, below = oy + 1 < outH;
          if (right) y[p + 1] = a1 - a2 - a3 + b;
          if (below) {
            y[p + outW] = b0 + b1 + b2 + b;
            if (right) y[p + outW + 1] = b1 - b2 - b3 + b;
          }
        }
      }
    }
  }
}
