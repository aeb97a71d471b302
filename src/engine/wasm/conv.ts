// 2D convolution on the wasm backend: im2col (in wasm) + the f32x4 GEMM for every geometry, with
// the layouts and contract of ../conv2d.ts (which dispatches here). x, y and the kept columns are
// used in place when they live in the kernel memory (layer workspaces do), else staged.
//
// x: [N, C, H, W]   weight: [O, C/G, kH, kW]   col: [N*G][K, L]   y: [N, O, outH, outW]
import type { Conv2dGeometry } from '../conv-geometry.ts';
import { WASM_MR, WASM_NR, packedBytes } from './gemm-kernel.ts';
import { wasmRuntime, type WasmRuntime } from './runtime.ts';

// (no argument arrays: these run per image, and the training step should allocate nothing)
/** Stride 1, undilated, output the input's size: each col row is the plane shifted (im2colSame). */
function same(g: Conv2dGeometry): boolean {
  return g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 && g.outH === g.h && g.outW === g.w &&
    g.padTop < g.kH && g.padLeft < g.kW;
}
function im2colAt(rt: WasmRuntime, x: number, col: number, cg: number, g: Conv2dGeometry): void {
  if (same(g)) rt.k.im2colSame(x, col, cg, g.h, g.w, g.kH, g.kW, g.padTop, g.padLeft);
  else rt.k.im2col(x, col, cg, g.h, g.w, g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padTop, g.padLeft, g.outH, g.outW);
}
function col2imAt(rt: WasmRuntime, dx: number, col: number, cg: number, g: Conv2dGeometry): void {
  if (same(g)) rt.k.col2imSame(dx, col, cg, g.h, g.w, g.kH, g.kW, g.padTop, g.padLeft);
  else rt.k.col2im(dx, col, cg, g.h, g.w, g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padTop, g.padLeft, g.outH, g.outW);
}

/**
 * y = conv2d(x, weight) + bias; with keepCols every image-group block of columns stays in col for
 * backward (copied out when col lives outside the kernel memory). Returns whether they did.
 */
export function wasmConv2dForward(
  g: Conv2dGeometry, x: Float32Array, weight: Float32Array, bias: Float32Array | null,
  y: Float32Array, col: Float32Array, keepCols: boolean, pointwise: boolean,
): boolean {
  const rt = wasmRuntime();
  const { n, cIn, h, w, cOut, groups, kH, kW, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, K = cg * kH * kW, L = outH * outW;
  const keep = keepCols && !pointwise && rt.holds(col);
  // asked to keep columns in a buffer outside the kernel memory: copied out block by block
  const keepOutside = keepCols && !pointwise && !keep;
  const xN = n * cIn * h * w, yN = n * cOut * L;
  const aBytes = packedBytes(og, K, WASM_MR);
  rt.begin(rt.stageBytes(x, xN) + rt.stageBytes(y, yN) + rt.stageBytes(weight, weight.length) +
    groups * aBytes + packedBytes(L, K, WASM_NR) + (keep || pointwise ? 0 : K * L * 4) + 256);
  const px = rt.place(x, 0, xN);
  const py = rt.place(y, 0, yN, false);
  const pw = rt.place(weight, 0, weight.length);
  const wPanels = rt.scratch(groups * aBytes);
  const panel = rt.scratch(packedBytes(L, K, WASM_NR));
  const colScratch = keep || pointwise ? 0 : rt.scratch(K * L * 4);
  const edge = rt.scratch(128);
  const { k } = rt;
  for (let gi = 0; gi < groups; gi++) k.packA(og, K, pw + gi * og * K * 4, K * 4, 4, wPanels + gi * aBytes, 16 * K);
  const mem = rt.f32;
  for (let img = 0; img < n; img++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = px + (img * cIn + gi * cg) * h * w * 4;
      const yOff = py + (img * cOut + gi * og) * L * 4;
      let colAddr = xOff;
      if (!pointwise) {
        colAddr = keep ? col.byteOffset + (img * groups + gi) * K * L * 4 : colScratch;
        im2colAt(rt, xOff, colAddr, cg, g);
        if (keepOutside) col.set(mem.subarray(colAddr >> 2, (colAddr >> 2) + K * L), (img * groups + gi) * K * L);
      }
      k.packB(L, K, colAddr, L * 4, 4, panel, 32 * K);
      // the bias seeds C, which the product then accumulates into
      if (bias) for (let o = 0; o < og; o++) mem.fill(bias[gi * og + o], (yOff >> 2) + o * L, (yOff >> 2) + (o + 1) * L);
      k.gemmPacked(og, L, K, wPanels + gi * aBytes, 16 * K, panel, 32 * K, yOff, L * 4, bias ? 1 : 0, edge);
    }
  }
  rt.copyBack(y, py, yN);
  return keep || keepOutside;
}

/** im2col of one image-group block (as ../conv2d.ts im2col), when x and col live in the kernel memory. */
export function wasmIm2col(x: Float32Array, xOff: number, cg: number, g: Conv2dGeometry, col: Float32Array, colOff: number): void {
  im2colAt(wasmRuntime(), x.byteOffset + xOff * 4, col.byteOffset + colOff * 4, cg, g);
}

/** col2im (adds into dx), when dx and col live in the kernel memory. */
export function wasmCol2im(col: Float32Array, colOff: number, cg: number, g: Conv2dGeometry, dx: Float32Array, xOff: number): void {
  col2imAt(wasmRuntime(), dx.byteOffset + xOff * 4, col.byteOffset + colOff * 4, cg, g);
}

/** Taps per output (cIn/groups · kH · kW) up to which the weight gradient takes dotRows instead of the GEMM. */
const DOT_TAPS = 16;

/** Reduction steps (images x output positions) per packed chunk of the batched weight gradient. */
const DW_CHUNK = 1024;

/**
 * dweight (+)= Σ_img dy_img · col_imgᵀ for every group as one product whose reduction runs over
 * the whole batch (images x positions, a few images per packed chunk that stays in cache), so C
 * is read and written once per chunk rather than once per image. dy and the kept columns must
 * live in the kernel memory.
 */
export function wasmConvDweight(g: Conv2dGeometry, dy: Float32Array, col: Float32Array, dweight: Float32Array): void {
  const rt = wasmRuntime();
  const { n, cIn, cOut, groups, kH, kW, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, K = cg * kH * kW, L = outH * outW;
  if (K <= DOT_TAPS && og % 4 === 0 && L % 4 === 0) {
    // few taps: dot products of dy's rows with the columns' rows, no packing (dotRows)
    rt.begin(rt.stageBytes(dweight, dweight.length) + 64);
    const pdw = rt.place(dweight, 0, dweight.length);
    for (let img = 0; img < n; img++) {
      for (let gi = 0; gi < groups; gi++) {
        rt.k.dotRows(dy.byteOffset + (img * cOut + gi * og) * L * 4, L * 4, og, col.byteOffset + (img * groups + gi) * K * L * 4, L * 4, K, L, pdw + gi * og * K * 4, K * 4);
      }
    }
    rt.copyBack(dweight, pdw, dweight.length);
    return;
  }
  const imgs = Math.max(1, Math.min(n, Math.floor(DW_CHUNK / L)));
  const kc = imgs * L;
  rt.begin(rt.stageBytes(dweight, dweight.length) + packedBytes(og, kc, WASM_MR) + packedBytes(K, kc, WASM_NR) + 256);
  const pdw = rt.place(dweight, 0, dweight.length);
  const pa = rt.scratch(packedBytes(og, kc, WASM_MR));
  const pb = rt.scratch(packedBytes(K, kc, WASM_NR));
  const edge = rt.scratch(128);
  const { k } = rt;
  for (let gi = 0; gi < groups; gi++) {
    for (let i0 = 0; i0 < n; i0 += imgs) {
      const i1 = Math.min(n, i0 + imgs), steps = (i1 - i0) * L;
      for (let img = i0; img < i1; img++) {
        const r = (img - i0) * L; // this image's reduction steps within the chunk
        // A(o, l) = dy[img, gi*og + o, l]; B(l, kk) = col[img, gi][kk, l]
        k.packA(og, L, dy.byteOffset + (img * cOut + gi * og) * L * 4, L * 4, 4, pa + r * 16, 16 * steps);
        k.packB(K, L, col.byteOffset + (img * groups + gi) * K * L * 4, 4, L * 4, pb + r * 32, 32 * steps);
      }
      k.gemmPacked(og, K, steps, pa, 16 * steps, pb, 32 * steps, pdw + gi * og * K * 4, K * 4, 1, edge);
    }
  }
  rt.copyBack(dweight, pdw, dweight.length);
}

/**
 * dx = Σ col2im(weightᵀ · dy_img) per image and group, with the transposed weights packed once
 * per call (not once per image). dy, dx and dcol (one image-group block of scratch, which
 * col2im may zero in places) must live in the kernel memory.
 */
export function wasmConvDx(g: Conv2dGeometry, weight: Float32Array, dy: Float32Array, dx: Float32Array, dcol: Float32Array): void {
  const rt = wasmRuntime();
  const { n, cIn, h, w, cOut, groups, kH, kW, outH, outW } = g;
  const cg = cIn / groups, og = cOut / groups, K = cg * kH * kW, L = outH * outW;
  const aBytes = packedBytes(K, og, WASM_MR);
  rt.begin(rt.stageBytes(weight, weight.length) + groups * aBytes + packedBytes(L, og, WASM_NR) + 256);
  const pw = rt.place(weight, 0, weight.length);
  const pa = rt.scratch(groups * aBytes);
  const pb = rt.scratch(packedBytes(L, og, WASM_NR));
  const edge = rt.scratch(128);
  const { k } = rt;
  // A(kk, o) = weight[gi*og + o][kk]
  for (let gi = 0; gi < groups; gi++) k.packA(K, og, pw + gi * og * K * 4, 4, K * 4, pa + gi * aBytes, 16 * og);
  dx.fill(0);
  for (let img = 0; img < n; img++) {
    for (let gi = 0; gi < groups; gi++) {
      k.packB(L, og, dy.byteOffset + (img * cOut + gi * og) * L * 4, L * 4, 4, pb, 32 * og);
      k.gemmPacked(K, L, og, pa + gi * aBytes, 16 * og, pb, 32 * og, dcol.byteOffset, L * 4, 0, edge);
      col2imAt(rt, dx.byteOffset + (img * cIn + gi * cg) * h * w * 4, dcol.byteOffset, cg, g);
    }
  }
}

/** dbias[c] += Σ dy[:, c, :] for dy: [n, C, L] in the kernel memory. */
export function wasmPlaneSums(dy: Float32Array, n: number, C: number, L: number, dbias: Float32Array): void {
  const rt = wasmRuntime();
  rt.begin(rt.stageBytes(dbias, C));
  const pb = rt.place(dbias, 0, C);
  rt.k.planeSums(dy.byteOffset, n, C, L, pb);
  rt.copyBack(dbias, pb, C);
}

/**
 * A 3x3 stride-1 kernel over one input channel per group (a grayscale first layer) with rows of
 * at least four outputs: direct3x3 (direct-kernel.ts) instead of im2col + a GEMM with K = 9.
 */
export function wasmDirectApplies(g: Conv2dGeometry): boolean {
  return g.kH === 3 && g.kW === 3 && g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 &&
    g.padTop <= 2 && g.padLeft <= 2 && g.cIn === g.groups && g.outW >= 4;
}

/** Row length and floats of the zero-bordered plane direct3x3 copies each input plane into. */
function directPadShape(g: Conv2dGeometry): { PW: number; floats: number } {
  const PW = (g.outW + 2 + 3) & ~3;
  return { PW, floats: (g.outH + 2) * PW };
}

/**
 * y = conv2d(x, weight) + bias where wasmDirectApplies; with `col` (in the kernel memory) every
 * image's columns are made there too, for the weight gradient (wasmConvDweight).
 */
export function wasmDirectForward(g: Conv2dGeometry, x: Float32Array, weight: Float32Array, bias: Float32Array | null, y: Float32Array, col: Float32Array | null): void {
  const rt = wasmRuntime();
  const { n, cIn, h, w, cOut, groups, outH, outW } = g;
  const og = cOut / groups, xN = n * cIn * h * w, yN = n * cOut * outH * outW;
  const { PW, floats } = directPadShape(g);
  rt.begin(rt.stageBytes(x, xN) + rt.stageBytes(y, yN) + rt.stageBytes(weight, weight.length) + (bias ? rt.stageBytes(bias, cOut) : 0) + floats * 4 + 16);
  const px = rt.place(x, 0, xN), py = rt.place(y, 0, yN, false), pw = rt.place(weight, 0, weight.length);
  const pb = bias ? rt.place(bias, 0, cOut) : 0;
  const pad = rt.scratch(floats * 4);
  rt.f32.fill(0, pad >> 2, (pad >> 2) + floats);
  for (let img = 0; img < n; img++) {
    for (let gi = 0; gi < groups; gi++) {
      const plane = px + (img * cIn + gi) * h * w * 4;
      rt.k.direct3x3(plane, h, w, g.padTop, g.padLeft, pad, PW, pw + gi * og * 36, pb ? pb + gi * og * 4 : 0,
        og, py + (img * cOut + gi * og) * outH * outW * 4, outH, outW);
      if (col) im2colAt(rt, plane, col.byteOffset + (img * groups + gi) * 9 * outH * outW * 4, 1, g);
    }
  }
  rt.copyBack(y, py, yN);
}
