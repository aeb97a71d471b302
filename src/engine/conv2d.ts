// 2D convolution kernels (cross-correlation, zero padding, stride, dilation, groups) as
// im2col + GEMM per image and per group, with col2im for the input gradient.
//
// x: [N, C, H, W]   weight: [O, C/G, kH, kW]   bias: [O]   y: [N, O, outH, outW]
// For image n and group g, with Cg = C/G, Og = O/G, K = Cg*kH*kW, L = outH*outW:
//   col[K, L]   = im2col(x[n, g*Cg : (g+1)*Cg])          row (c, i, j), column (oy, ox)
//   y[n, g]     = weight[g] [Og, K] · col [K, L] + bias     (gemmPacked, weights packed once)
//   dweight[g] += dy[n, g] [Og, L] · col^T [L, K]         (gemmNT)
//   dcol        = weight[g]^T [K, Og] · dy[n, g] [Og, L]  (gemmTN), then col2im adds into dx
// 3x3 stride-1 kernels take the Winograd path (winograd.ts) when they have enough channels, and a
// direct kernel (conv-direct.ts) for y when they have one input channel per group.
// The wasm backend (backend.ts) runs Winograd with f32x4 transforms for 3x3 stride-1 kernels with
// enough channels (wasm/winograd.ts), a direct f32x4 kernel for y of a 3x3 stride-1 kernel over
// one input channel (wasm/direct-kernel.ts; its weight gradient keeps the columns), and im2col +
// its f32x4 GEMM for every other geometry (wasm/conv.ts).
import { MR, NR, gemmNT, gemmPacked, gemmTN, growScratch, packA, packB, packedSize } from './gemm.ts';
import { winogradConv, winogradDweight, winogradWeights, winogradWeightsSize } from './winograd.ts';
import { conv3x3Direct, directConvApplies } from './conv-direct.ts';
import { useWasm } from './backend.ts';
import {
  wasmCol2im, wasmConv2dForward, wasmConvDweight, wasmConvDx, wasmDirectApplies, wasmDirectForward, wasmIm2col, wasmPlaneSums,
} from './wasm/conv.ts';
import { wasmRuntime } from './wasm/runtime.ts';
import { wasmWinogradApplies, wasmWinogradBackward, wasmWinogradForward, wasmWinogradKeptSize } from './wasm/winograd.ts';
import type { Conv2dGeometry } from './conv-geometry.ts';

export type { Conv2dGeometry };

/** floor((in + padLo + padHi - d*(k-1) - 1) / s) + 1; <= 0 when the window does not fit. */
export function convOutSize(inSize: number, k: number, s: number, padLo: number, padHi: number, d: number): number {
  return Math.floor((inSize + padLo + padHi - d * (k - 1) - 1) / s) + 1;
}

// NOTE: below 8 channels the Winograd GEMMs (K = channels) are too short to beat im2col.
const WINOGRAD_MIN_CHANNELS = 8;

function winograd3x3(g: Conv2dGeometry): boolean {
  return g.kH === 3 && g.kW === 3 && g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 &&
    g.padTop <= 2 && g.padLeft <= 2;
}

/** The forward pass and dweight run as Winograd F(2x2, 3x3) (no im2col blocks are kept). */
export function winogradForward(g: Conv2dGeometry): boolean {
  return winograd3x3(g) && g.cIn / g.groups >= WINOGRAD_MIN_CHANNELS;
}

/** dx runs as Winograd F(2x2, 3x3) on dy with the flipped kernels. */
export function winogradDx(g: Conv2dGeometry): boolean {
  return winograd3x3(g) && g.cOut / g.groups >= WINOGRAD_MIN_CHANNELS;
}

let uPacked: Float64Array = new Float64Array(0);
let wPanels: Float64Array = new Float64Array(0);
let colPanels: Float64Array = new Float64Array(0);

/** Floats of im2col scratch: one image-group block, or the whole batch when kept for backward. */
export function conv2dColSize(g: Conv2dGeometry, wholeBatch: boolean): number {
  if (isPointwise(g)) return 0;
  if (useWasm() && wasmWinogradApplies(g)) return wholeBatch ? wasmWinogradKeptSize(g) : 0;
  if (!useWasm() && (winogradForward(g) || directConvApplies(g))) wholeBatch = false;
  const block = (g.cIn / g.groups) * g.kH * g.kW * g.outH * g.outW;
  return wholeBatch ? block * g.n * g.groups : block;
}

/** A 1x1 kernel with stride 1 and no padding: the input plane block already is the col matrix. */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.kH === 1 && g.kW === 1 && g.sH === 1 && g.sW === 1 && g.padTop === 0 && g.padLeft === 0 &&
    g.outH === g.h && g.outW === g.w;
}

// First and one-past-last output index whose tap at `shift + o*s` lands inside [0, size).
function validStart(shift: number, s: number, out: number): number {
  return shift >= 0 ? 0 : Math.min(out, Math.ceil(-shift / s));
}
function validEnd(shift: number, s: number, size: number, out: number, start: number): number {
  const last = size - 1 - shift;
  return last < 0 ? start : Math.max(start, Math.min(out, Math.floor(last / s) + 1));
}

/**
 * x[xOff ..]: [Cg, H, W] (one image, one group's channels) -> col[colOff ..]: [Cg*kH*kW, outH*outW].
 * Out-of-input taps are zero (zero padding).
 */
export function im2col(
  x: Float32Array, xOff: number, cg: number, g: Conv2dGeometry, col: Float32Array, colOff: number,
): void {
  const { h: H, w: W, kH, kW, sH, sW, dH, dW, padTop, padLeft, outH, outW } = g;
  const plane = H * W;
  let p = colOff;
  for (let c = 0; c < cg; c++) {
    const xc = xOff + c * plane;
    for (let i = 0; i < kH; i++) {
      const yShift = i * dH - padTop;
      const oy0 = validStart(yShift, sH, outH);
      const oy1 = validEnd(yShift, sH, H, outH, oy0);
      for (let j = 0; j < kW; j++) {
        const xShift = j * dW - padLeft;
        const ox0 = validStart(xShift, sW, outW);
        const ox1 = validEnd(xShift, sW, W, outW, ox0);
        if (oy0 > 0) { col.fill(0, p, p + oy0 * outW); p += oy0 * outW; }
        for (let oy = oy0; oy < oy1; oy++) {
          const src = xc + (oy * sH + yShift) * W + xShift;
          let ox = 0;
          for (; ox < ox0; ox++) col[p + ox] = 0;
          if (sW === 1) for (; ox < ox1; ox++) col[p + ox] = x[src + ox];
          else for (let q = src + ox * sW; ox < ox1; ox++, q += sW) col[p + ox] = x[q];
          for (; ox < outW; ox++) col[p + ox] = 0;
          p += outW;
        }
        if (oy1 < outH) { col.fill(0, p, p + (outH - oy1) * outW); p += (outH - oy1) * outW; }
      }
    }
  }
}

/** The adjoint of im2col: adds col[colOff ..]: [Cg*kH*kW, outH*outW] into dx[xOff ..]: [Cg, H, W]. */
export function col2im(
  col: Float32Array, colOff: number, cg: number, g: Conv2dGeometry, dx: Float32Array, xOff: number,
): void {
  const { h: H, w: W, kH, kW, sH, sW, dH, dW, padTop, padLeft, outH, outW } = g;
  const plane = H * W;
  let p = colOff;
  for (let c = 0; c < cg; c++) {
    const xc = xOff + c * plane;
    for (let i = 0; i < kH; i++) {
      const yShift = i * dH - padTop;
      const oy0 = validStart(yShift, sH, outH);
      const oy1 = validEnd(yShift, sH, H, outH, oy0);
      for (let j = 0; j < kW; j++, p += outH * outW) {
        const xShift = j * dW - padLeft;
        const ox0 = validStart(xShift, sW, outW);
        const ox1 = validEnd(xShift, sW, W, outW, ox0);
        for (let oy = oy0; oy < oy1; oy++) {
          const dst = xc + (oy * sH + yShift) * W + xShift;
          const row = p + oy * outW;
          if (sW === 1) for (let ox = ox0; ox < ox1; ox++) dx[dst + ox] += col[row + ox];
          else for (let ox = ox0, q = dst + ox0 * sW; ox < ox1; ox++, q += sW) dx[q] += col[row + ox];
        }
      }
    }
  }
}

/**
 * y = conv2d(x, weight) + bias. `col` is im2col scratch of conv2dColSize(g, keepCols) floats;
 * with keepCols every image-group block stays in it for conv2dBackward. Returns whether it did
 * (the Winograd path keeps none).
 */
export function conv2dForward(
  g: Conv2dGeometry, x: Float32Array, weight: Float32Array, bias: Float32Array | null,
  y: Float32Array, col: Float32Array, keepCols: boolean,
): boolean {
  if (useWasm() && wasmWinogradApplies(g)) {
    const keep = keepCols && wasmRuntime().holds(col);
    wasmWinogradForward(g, x, weight, bias, y, keep ? col : null);
    return keep;
  }
  if (useWasm() && wasmDirectApplies(g)) {
    // the weight gradient still wants the columns (dotRows in wasmConvDweight): made apart from y
    const inMemory = wasmRuntime().holds(col);
    wasmDirectForward(g, x, weight, bias, y, keepCols && inMemory ? col : null);
    if (keepCols && !inMemory) {
      for (let img = 0; img < g.n; img++) {
        for (let gi = 0; gi < g.groups; gi++) im2col(x, (img * g.cIn + gi) * g.h * g.w, 1, g, col, (img * g.groups + gi) * 9 * g.outH * g.outW);
      }
    }
    return keepCols;
  }
  if (useWasm()) return wasmConv2dForward(g, x, weight, bias, y, col, keepCols, isPointwise(g));
  const { n, cIn, h, w, cOut, groups, kH, kW, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, K = cg * kH * kW, L = outH * outW;
  if (winogradForward(g)) {
    uPacked = growScratch(uPacked, winogradWeightsSize(og, cg));
    for (let gi = 0; gi < groups; gi++) {
      const uStride = winogradWeights(weight, gi * og * K, og, cg, false, uPacked);
      winogradConv(
        { n, cIn: cg, xChannels: cIn, xc0: gi * cg, h, w, cOut: og, yChannels: cOut, yc0: gi * og, outH, outW, padTop: g.padTop, padLeft: g.padLeft },
        x, uPacked, uStride, bias, gi * og, y,
      );
    }
    return false;
  }
  if (directConvApplies(g)) {
    conv3x3Direct(g, x, weight, bias, y);
    return false;
  }
  const pointwise = isPointwise(g);
  // the weights are packed once per call, each image's columns once; the bias seeds the GEMM
  const wStride = packedSize(og, K, MR);
  wPanels = growScratch(wPanels, groups * wStride);
  for (let gi = 0; gi < groups; gi++) packA(og, K, weight, gi * og * K, K, 1, wPanels, gi * wStride);
  colPanels = growScratch(colPanels, packedSize(L, K, NR));
  for (let img = 0; img < n; img++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (img * cIn + gi * cg) * h * w;
      const yOff = (img * cOut + gi * og) * L;
      if (pointwise) {
        packB(L, K, x, xOff, L, 1, colPanels);
      } else {
        const colOff = keepCols ? (img * groups + gi) * K * L : 0;
        im2col(x, xOff, cg, g, col, colOff);
        packB(L, K, col, colOff, L, 1, colPanels);
      }
      gemmPacked(og, L, K, wPanels, gi * wStride, colPanels, 0, y, yOff, L, false, bias, gi * og);
    }
  }
  return keepCols && !pointwise;
}

/**
 * Accumulates dweight (+=) and dbias (+=) and overwrites dx (if given) for upstream gradient dy.
 * `colsKept` says whether `col` still holds every block from a forward with keepCols; otherwise
 * the blocks are rebuilt from x one at a time. `dcol` is scratch of conv2dColSize(g, false) floats.
 */
export function conv2dBackward(
  g: Conv2dGeometry, x: Float32Array, weight: Float32Array, dy: Float32Array,
  dweight: Float32Array, dbias: Float32Array | null, dx: Float32Array | null,
  col: Float32Array, colsKept: boolean, dcol: Float32Array,
): void {
  const { n, cIn, h, w, cOut, groups, kH, kW, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, K = cg * kH * kW, L = outH * outW;
  const pointwise = isPointwise(g);
  const wasm = useWasm();
  if (wasm && wasmWinogradApplies(g)) {
    wasmWinogradBackward(g, x, weight, dy, dweight, dbias, dx, colsKept ? col : null);
    return;
  }
  const wino = !wasm && dx !== null && winogradDx(g);
  const winoW = !wasm && winogradForward(g);
  // the wasm im2col / col2im need both operands in the kernel memory (layer workspaces are)
  const wasmCols = wasm && wasmRuntime().holds(col) && wasmRuntime().holds(x) && (!dx || (wasmRuntime().holds(dx) && wasmRuntime().holds(dcol)));
  const toCols = wasmCols ? wasmIm2col : im2col;
  const fromCols = wasmCols ? wasmCol2im : col2im;
  // with the columns kept in the kernel memory, one product over the whole batch gives dweight
  const batchedDw = wasm && !pointwise && colsKept && wasmRuntime().holds(col) && wasmRuntime().holds(dy);
  if (batchedDw) wasmConvDweight(g, dy, col, dweight);
  const dwDone = winoW || batchedDw;
  const wasmDx = wasmCols && dx !== null && !pointwise && wasmRuntime().holds(dy);
  if (wasmDx) wasmConvDx(g, weight, dy, dx, dcol);
  const dxDone = wino || wasmDx;
  if (dx && !pointwise && !dxDone) dx.fill(0);
  if (winoW) {
    for (let gi = 0; gi < groups; gi++) {
      winogradDweight(
        { n, cIn: cg, xChannels: cIn, xc0: gi * cg, h, w, cOut: og, yChannels: cOut, yc0: gi * og, outH, outW, padTop: g.padTop, padLeft: g.padLeft },
        x, dy, dweight, gi * og * K,
      );
    }
  }
  if (wino) {
    // dx = 3x3 correlation of dy (padded by 2 - pad) with the flipped kernels, channels swapped
    uPacked = growScratch(uPacked, winogradWeightsSize(cg, og));
    for (let gi = 0; gi < groups; gi++) {
      const uStride = winogradWeights(weight, gi * og * K, og, cg, true, uPacked);
      winogradConv(
        { n, cIn: og, xChannels: cOut, xc0: gi * og, h: outH, w: outW, cOut: cg, yChannels: cIn, yc0: gi * cg, outH: h, outW: w, padTop: 2 - g.padTop, padLeft: 2 - g.padLeft },
        dy, uPacked, uStride, null, 0, dx,
      );
    }
  }
  for (let img = 0; img < n && !(dwDone && (dxDone || !dx)); img++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (img * cIn + gi * cg) * h * w;
      const yOff = (img * cOut + gi * og) * L;
      const wOff = gi * og * K;
      if (pointwise) {
        gemmNT(og, K, L, dy, x, dweight, true, yOff, xOff, wOff);
        if (dx) gemmTN(K, L, og, weight, dy, dx, false, wOff, yOff, xOff);
        continue;
      }
      if (!dwDone) {
        let colOff = 0;
        if (colsKept) colOff = (img * groups + gi) * K * L;
        else toCols(x, xOff, cg, g, col, 0);
        gemmNT(og, K, L, dy, col, dweight, true, yOff, colOff, wOff);
      }
      if (dx && !dxDone) {
        gemmTN(K, L, og, weight, dy, dcol, false, wOff, yOff, 0);
        fromCols(dcol, 0, cg, g, dx, xOff);
      }
    }
  }
  if (dbias && wasm && wasmRuntime().holds(dy)) wasmPlaneSums(dy, n, cOut, L, dbias);
  else if (dbias) {
    for (let img = 0; img < n; img++) {
      for (let o = 0, q = img * cOut * L; o < cOut; o++) {
        let s = 0;
        for (let l = 0; l < L; l++, q++) s += dy[q];
        dbias[o] += s;
      }
    }
  }
}
