// Winograd F(2x2, 3x3) convolution on the wasm backend (the math is ../winograd.ts's): the tile
// transforms in f32x4 (winograd-kernel.ts) around the f32x4 GEMM, for 3x3 stride-1 kernels with
// enough channels per group; ./conv.ts's im2col path takes every other geometry.
//
// x: [N, C, H, W]   weight: [O, C/G, 3, 3]   y: [N, O, outH, outW]
// Per group, with T tiles (2x2 outputs each) over the images and e = 0..15:
//   V[e] = Bᵀ d B      [Cg, T]   kept by a training forward (the weight gradient reads it again)
//   M[e] = U[e] · V[e] [Og, T]   U = G g Gᵀ (gemmRows: V is read in place, not packed)
//   y    = Aᵀ M A
//   D[e] = A dy Aᵀ     [Og, T];  dU[e] = D[e] · V[e]ᵀ (dotRows);  dweight += Gᵀ dU G
//   dx   = the same forward path on dy with the kernels rotated and the channels swapped.
import type { Conv2dGeometry } from '../conv-geometry.ts';
import { winogradKernelGrad, winogradKernels } from '../winograd.ts';
import { WASM_MR, packedBytes } from './gemm-kernel.ts';
import { wasmRuntime, type WasmRuntime } from './runtime.ts';

/** Tiles per chunk of images: keeps a chunk's M (16 x Og x T floats) within the L2 cache. */
const TILE_TARGET = 256;

/** Channels per group below which the GEMMs (K = channels) are too short to beat im2col. */
const MIN_CHANNELS = 8;

/**
 * Whether the wasm Winograd path runs this geometry: 3x3, stride 1, undilated, at most 2 zeros
 * on every side (dx pads dy with 2 - pad), enough channels both ways, and the shared kernel
 * memory (where layer workspaces, and so the kept V, live).
 */
export function wasmWinogradApplies(g: Conv2dGeometry): boolean {
  const padBottom = g.outH + 2 - g.h - g.padTop, padRight = g.outW + 2 - g.w - g.padLeft;
  return g.kH === 3 && g.kW === 3 && g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 &&
    Math.max(g.padTop, g.padLeft, padBottom, padRight) <= 2 &&
    g.cIn / g.groups >= MIN_CHANNELS && g.cOut / g.groups >= MIN_CHANNELS && wasmRuntime().shared;
}

const tiles = (size: number) => (size + 1) >> 1;
/**
 * Floats per row of a [planes, T] tile matrix: room for a row's spill and the GEMM's overhanging
 * block, and never a multiple of 64 floats: with rows 1 KiB apart, the GEMM's B rows all fell in
 * the same few cache sets (the dx products ran 1.6x slower).
 */
function rowFloats(T: number): number {
  const row = ((T + 7) & ~7) + 8;
  return row % 64 === 0 ? row + 8 : row;
}
const roundUp4 = (n: number) => (n + 3) & ~3;

/** Floats of V a training forward keeps for backward (every group's, every image's). */
export function wasmWinogradKeptSize(g: Conv2dGeometry): number {
  return g.groups * 16 * (g.cIn / g.groups) * rowFloats(g.n * tiles(g.outH) * tiles(g.outW));
}

/** The tiling of one output plane size, and its chunks of images. */
class Tiling {
  readonly tilesH: number;
  readonly tilesW: number;
  readonly per: number;
  readonly chunk: number;
  readonly row: number; // floats per row of a chunk's matrices
  readonly PH: number;
  readonly PW: number;
  constructor(outH: number, outW: number, n: number) {
    this.tilesH = tiles(outH);
    this.tilesW = tiles(outW);
    this.per = this.tilesH * this.tilesW;
    this.chunk = Math.max(1, Math.min(n, Math.floor(TILE_TARGET / this.per)));
    this.row = rowFloats(this.chunk * this.per);
    // the transforms read 4x4 patches at (2ty, 2tx) of four tiles at once: 8 floats past the last
    this.PH = 2 * this.tilesH + 2;
    this.PW = roundUp4(2 * (((this.tilesW + 3) & ~3)) + 4);
  }
}

/** Packs U[e] (rows x K, from winogradKernels) as 16 GEMM A-panel sets at `panels`, aBytes apart. */
function packKernels(rt: WasmRuntime, u: Float32Array, rows: number, K: number, raw: number, panels: number, aBytes: number): void {
  rt.f32.set(u.subarray(0, 16 * rows * K), raw >> 2);
  for (let e = 0; e < 16; e++) rt.k.packA(rows, K, raw + e * rows * K * 4, K * 4, 4, panels + e * aBytes, 16 * K);
}

/**
 * One direction's forward path (y from x, or dx from dy): `planes` input channels of H x W
 * (xImage bytes apart per image) into `outPlanes` channels of outH x outW, with its tiling, the
 * padded scratch plane, the packed kernels and M's scratch. transformIn makes V of a chunk of
 * images (tile columns t0 onward of [16][planes, vRow] matrices at v); productsOut takes
 * M = U·V and writes y = AᵀMA.
 */
interface Pass {
  planes: number; H: number; W: number; top: number; left: number; xImage: number;
  outPlanes: number; outH: number; outW: number; yImage: number;
  tl: Tiling; pad: number; panels: number; aBytes: number; m: number; edge: number;
}

function transformIn(rt: WasmRuntime, p: Pass, x: number, i0: number, imgs: number, v: number, vRow: number, t0: number): void {
  const { tl } = p;
  for (let im = 0; im < imgs; im++) {
    rt.k.wgInput(x + (i0 + im) * p.xImage, p.planes, p.H, p.W, p.top, p.left, p.pad, tl.PW, tl.tilesH, tl.tilesW,
      v + (t0 + im * tl.per) * 4, vRow * 4, p.planes * vRow * 4);
  }
}

function productsOut(rt: WasmRuntime, p: Pass, i0: number, imgs: number, v: number, vRow: number, t0: number, y: number, bias: number): void {
  const { tl, planes, outPlanes } = p;
  const T = imgs * tl.per, mRow = tl.row;
  for (let e = 0; e < 16; e++) {
    rt.k.gemmRows(outPlanes, T, planes, p.panels + e * p.aBytes, 16 * planes, v + (e * planes * vRow + t0) * 4, 32,
      p.m + e * outPlanes * mRow * 4, mRow * 4, 0, p.edge, vRow * 4);
  }
  for (let im = 0; im < imgs; im++) {
    rt.k.wgOutput(p.m + im * tl.per * 4, mRow * 4, outPlanes * mRow * 4, outPlanes, tl.tilesH, tl.tilesW,
      y + (i0 + im) * p.yImage, p.outH, p.outW, bias, p.edge);
  }
}

/**
 * y = conv2d(x, weight) + bias by Winograd; with `kept` (wasmWinogradKeptSize floats in the
 * kernel memory) every group's V stays there for wasmWinogradBackward.
 */
export function wasmWinogradForward(
  g: Conv2dGeometry, x: Float32Array, weight: Float32Array, bias: Float32Array | null, y: Float32Array,
  kept: Float32Array | null,
): void {
  const rt = wasmRuntime();
  const { n, cIn, h, w, cOut, groups, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups;
  const tl = new Tiling(outH, outW, n);
  const keptRow = rowFloats(n * tl.per);
  const aBytes = packedBytes(og, cg, WASM_MR);
  const xN = n * cIn * h * w, yN = n * cOut * outH * outW;
  rt.begin(rt.stageBytes(x, xN) + rt.stageBytes(y, yN) + (bias ? rt.stageBytes(bias, cOut) : 0) +
    16 * og * cg * 4 + 16 * aBytes + tl.PH * tl.PW * 4 + 16 * og * tl.row * 4 + (kept ? 0 : 16 * cg * tl.row * 4) + 256);
  const px = rt.place(x, 0, xN);
  const py = rt.place(y, 0, yN, false);
  const pb = bias ? rt.place(bias, 0, cOut) : 0;
  const raw = rt.scratch(16 * og * cg * 4);
  const pass: Pass = {
    planes: cg, H: h, W: w, top: g.padTop, left: g.padLeft, xImage: cIn * h * w * 4,
    outPlanes: og, outH, outW, yImage: cOut * outH * outW * 4,
    tl, panels: rt.scratch(16 * aBytes), aBytes, pad: rt.scratch(tl.PH * tl.PW * 4), m: rt.scratch(16 * og * tl.row * 4), edge: rt.scratch(128),
  };
  const vScratch = kept ? 0 : rt.scratch(16 * cg * tl.row * 4);
  rt.f32.fill(0, pass.pad >> 2, (pass.pad >> 2) + tl.PH * tl.PW);
  for (let gi = 0; gi < groups; gi++) {
    packKernels(rt, winogradKernels(weight, gi * og * cg * 9, og, cg, false), og, cg, raw, pass.panels, aBytes);
    const v = kept ? kept.byteOffset + gi * 16 * cg * keptRow * 4 : vScratch;
    const vRow = kept ? keptRow : tl.row;
    const xg = px + gi * cg * h * w * 4, yg = py + gi * og * outH * outW * 4;
    for (let i0 = 0; i0 < n; i0 += tl.chunk) {
      const imgs = Math.min(tl.chunk, n - i0), t0 = kept ? i0 * tl.per : 0;
      transformIn(rt, pass, xg, i0, imgs, v, vRow, t0);
      productsOut(rt, pass, i0, imgs, v, vRow, t0, yg, pb ? pb + gi * og * 4 : 0);
    }
    // the weight gradient's dot products run over whole multiples of four tiles: zeros past T
    if (kept) rt.k.zeroCols(v, 16 * cg, keptRow * 4, n * tl.per * 4, keptRow * 4);
  }
  rt.copyBack(y, py, yN);
}

/**
 * dweight and dbias (+=) and dx (overwritten, if given) for upstream gradient dy, from the V a
 * training forward kept (or, without it, V made again from x).
 */
export function wasmWinogradBackward(
  g: Conv2dGeometry, x: Float32Array, weight: Float32Array, dy: Float32Array,
  dweight: Float32Array, dbias: Float32Array | null, dx: Float32Array | null, kept: Float32Array | null,
): void {
  const rt = wasmRuntime();
  const { n, cIn, h, w, cOut, groups, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, og4 = roundUp4(og);
  const tl = new Tiling(outH, outW, n); // dy's tiles (the weight gradient)
  const tx = new Tiling(h, w, n); // dx's tiles
  const keptRow = rowFloats(n * tl.per);
  const aBytes = packedBytes(cg, og, WASM_MR);
  const xN = n * cIn * h * w, yN = n * cOut * outH * outW;
  rt.begin(rt.stageBytes(x, kept ? 0 : xN) + rt.stageBytes(dy, yN) + (dx ? rt.stageBytes(dx, xN) : 0) +
    16 * og4 * tl.row * 4 + 16 * og4 * cg * 4 + tl.row * 4 + og4 * 4 + tl.PH * tl.PW * 4 + (kept ? 0 : 16 * cg * tl.row * 4 + tl.PH * tl.PW * 4) +
    (dx ? 16 * og * cg * 4 + 16 * aBytes + tx.PH * tx.PW * 4 + 16 * cg * tx.row * 4 + 16 * og * tx.row * 4 : 0) + 256);
  const px = kept ? 0 : rt.place(x, 0, xN);
  const pdy = rt.place(dy, 0, yN);
  const edge = rt.scratch(128);

  // ---- dweight ----
  const D = rt.scratch(16 * og4 * tl.row * 4);
  const dU = rt.scratch(16 * og4 * cg * 4);
  const gradPad = rt.scratch(tl.PH * tl.PW * 4);
  // a tile's four dy values add up to D[5] = (y00 + y10) + (y01 + y11): dbias is D[5]'s row sums
  const ones = rt.scratch(tl.row * 4), dbSum = rt.scratch(og4 * 4);
  rt.f32.fill(1, ones >> 2, (ones >> 2) + tl.row);
  rt.f32.fill(0, gradPad >> 2, (gradPad >> 2) + tl.PH * tl.PW);
  rt.f32.fill(0, D >> 2, (D >> 2) + 16 * og4 * tl.row); // rows og .. og4 stay zero
  // without kept V: each chunk's V made again, as the forward made it
  const remake: Pass | null = kept ? null : {
    planes: cg, H: h, W: w, top: g.padTop, left: g.padLeft, xImage: cIn * h * w * 4,
    outPlanes: og, outH, outW, yImage: 0, tl, pad: rt.scratch(tl.PH * tl.PW * 4), panels: 0, aBytes: 0, m: 0, edge,
  };
  const vScratch = kept ? 0 : rt.scratch(16 * cg * tl.row * 4);
  if (remake) rt.f32.fill(0, remake.pad >> 2, (remake.pad >> 2) + tl.PH * tl.PW);
  for (let gi = 0; gi < groups; gi++) {
    rt.f32.fill(0, dU >> 2, (dU >> 2) + 16 * og4 * cg);
    rt.f32.fill(0, dbSum >> 2, (dbSum >> 2) + og4);
    const v = kept ? kept.byteOffset + gi * 16 * cg * keptRow * 4 : vScratch;
    const vRow = kept ? keptRow : tl.row;
    for (let i0 = 0; i0 < n; i0 += tl.chunk) {
      const imgs = Math.min(tl.chunk, n - i0), T = imgs * tl.per, t0 = kept ? i0 * tl.per : 0;
      if (remake) {
        transformIn(rt, remake, px + gi * cg * h * w * 4, i0, imgs, v, vRow, 0);
        rt.k.zeroCols(v, 16 * cg, vRow * 4, T * 4, vRow * 4);
      }
      for (let im = 0; im < imgs; im++) {
        rt.k.wgGrad(pdy + ((i0 + im) * cOut + gi * og) * outH * outW * 4, og, outH, outW, 0, 0, gradPad, tl.PW,
          tl.tilesH, tl.tilesW, D + im * tl.per * 4, tl.row * 4, og4 * tl.row * 4);
      }
      rt.k.zeroCols(D, 16 * og4, tl.row * 4, T * 4, tl.row * 4);
      for (let e = 0; e < 16; e++) {
        rt.k.dotRows(D + e * og4 * tl.row * 4, tl.row * 4, og4, v + (e * cg * vRow + t0) * 4, vRow * 4, cg, roundUp4(T),
          dU + e * og4 * cg * 4, cg * 4);
      }
      if (dbias) rt.k.dotRows(D + 5 * og4 * tl.row * 4, tl.row * 4, og4, ones, 0, 1, roundUp4(T), dbSum, 4);
    }
    if (dbias) for (let o = 0; o < og; o++) dbias[gi * og + o] += rt.f32[(dbSum >> 2) + o];
    winogradKernelGrad(rt.f32, dU >> 2, og4 * cg, og, cg, dweight, gi * og * cg * 9);
  }

  // ---- dx: dy through the forward path, kernels rotated, channels swapped ----
  if (!dx) return;
  const pdx = rt.place(dx, 0, xN, false);
  const raw = rt.scratch(16 * og * cg * 4);
  const pass: Pass = {
    planes: og, H: outH, W: outW, top: 2 - g.padTop, left: 2 - g.padLeft, xImage: cOut * outH * outW * 4,
    outPlanes: cg, outH: h, outW: w, yImage: cIn * h * w * 4,
    tl: tx, panels: rt.scratch(16 * aBytes), aBytes, pad: rt.scratch(tx.PH * tx.PW * 4), m: rt.scratch(16 * cg * tx.row * 4), edge,
  };
  const v = rt.scratch(16 * og * tx.row * 4);
  rt.f32.fill(0, pass.pad >> 2, (pass.pad >> 2) + tx.PH * tx.PW);
  for (let gi = 0; gi < groups; gi++) {
    packKernels(rt, winogradKernels(weight, gi * og * cg * 9, og, cg, true), cg, og, raw, pass.panels, aBytes);
    const yg = pdy + gi * og * outH * outW * 4, xg = pdx + gi * cg * h * w * 4;
    for (let i0 = 0; i0 < n; i0 += tx.chunk) {
      const imgs = Math.min(tx.chunk, n - i0);
      transformIn(rt, pass, yg, i0, imgs, v, tx.row, 0);
      productsOut(rt, pass, i0, imgs, v, tx.row, 0, xg, 0);
    }
  }
  rt.copyBack(dx, pdx, xN);
}
