// 2D max pooling kernels with PyTorch's CPU semantics: implicit -inf padding, dilation, ceil
// mode, first maximum wins ties, NaN propagates; forward records argmax for backward.
//
// x: [N, C, H, W] -> y: [N, C, outH, outW], argmax: [N, C, outH, outW] flat indices into x
import { useWasm } from './backend.ts';
import type { Pool2dGeometry } from './pool-geometry.ts';
import { wasmMaxPool2x2, wasmMaxPoolBackward } from './wasm/pool.ts';

export type { Pool2dGeometry };

/** Completes a geometry with the window bounds, so forward calls allocate nothing. */
export function pool2dGeometry(g: Omit<Pool2dGeometry, 'rows' | 'cols'>): Pool2dGeometry {
  return {
    ...g,
    rows: windowBounds(g.outH, g.h, g.kH, g.sH, g.pH, g.dH),
    cols: windowBounds(g.outW, g.w, g.kW, g.sW, g.pW, g.dW),
  };
}

/**
 * PyTorch's pooling_output_shape: floor (or ceil) of (in + 2p - d*(k-1) - 1) / s, plus 1; in
 * ceil mode the last window must start inside the input or the left padding.
 */
export function poolOutSize(inSize: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number {
  const span = inSize + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((span + (ceilMode ? s - 1 : 0)) / s) + 1;
  if (ceilMode && (out - 1) * s >= inSize + p) out--;
  return out;
}

/**
 * Fills y with window maxima and argmax with the flat index in x of each one. A window that
 * holds no input cell at all (possible only with dilation) yields -inf and argmax -1.
 */
export function maxPool2dForward(g: Pool2dGeometry, x: Float32Array, y: Float32Array, argmax: Int32Array): void {
  if (useWasm() && wasmMaxPool2x2(g, x, y, argmax)) return;
  if (windowsInside(g)) {
    if (g.kH === 2 && g.kW === 2) maxPool2x2Inside(g, x, y, argmax);
    else maxPoolInside(g, x, y, argmax);
    return;
  }
  const { n, c, h: H, w: W, dH, dW, outH, outW, rows, cols } = g;
  const planes = n * c, plane = H * W;
  let q = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * plane;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = rows[2 * oy], iy1 = rows[2 * oy + 1];
      for (let ox = 0; ox < outW; ox++, q++) {
        const ix0 = cols[2 * ox], ix1 = cols[2 * ox + 1];
        let best = -Infinity;
        let bestIdx = iy0 < iy1 && ix0 < ix1 ? base + iy0 * W + ix0 : -1;
        for (let iy = iy0; iy < iy1; iy += dH) {
          for (let idx = base + iy * W + ix0, e = base + iy * W + ix1; idx < e; idx += dW) {
            const v = x[idx];
            // NOTE: `v !== v` is NaN: as in PyTorch a NaN replaces the running max (the last NaN's
            // index is kept) and, since nothing compares greater than NaN, the output is NaN.
            if (v > best || v !== v) {
              best = v;
              bestIdx = idx;
            }
          }
        }
        y[q] = best;
        argmax[q] = bestIdx;
      }
    }
  }
}

/** No padding or dilation and every window inside the input: the common case, done branch-free below. */
function windowsInside(g: Pool2dGeometry): boolean {
  return g.pH === 0 && g.pW === 0 && g.dH === 1 && g.dW === 1 &&
    (g.outH - 1) * g.sH + g.kH <= g.h && (g.outW - 1) * g.sW + g.kW <= g.w;
}

// NOTE: the window scans below pick the running maximum with arithmetic on the comparison
// (`c = +(v > m) | +(v !== v)`, then `best += c * (idx - best)`) instead of a branch: on real
// activations the branch is unpredictable and made max-pooling 3x slower. The rule is the generic
// loop's: a strictly greater value or a NaN takes over, in row-major window order.

// x: [N, C, H, W] -> y, argmax: [N, C, outH, outW]; 2x2 windows inside the input
function maxPool2x2Inside(g: Pool2dGeometry, x: Float32Array, y: Float32Array, argmax: Int32Array): void {
  const { n, c, h: H, w: W, sH, sW, outH, outW } = g;
  const planes = n * c, plane = H * W;
  let q = 0;
  for (let pl = 0; pl < planes; pl++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0, r = pl * plane + oy * sH * W; ox < outW; ox++, q++, r += sW) {
        let best = r, m = x[r], v = 0, cmp = 0;
        v = x[r + 1]; cmp = +(v > m) | +(v !== v); best += cmp * (r + 1 - best); m = x[best];
        v = x[r + W]; cmp = +(v > m) | +(v !== v); best += cmp * (r + W - best); m = x[best];
        v = x[r + W + 1]; cmp = +(v > m) | +(v !== v); best += cmp * (r + W + 1 - best); m = x[best];
        y[q] = m;
        argmax[q] = best;
      }
    }
  }
}

// x: [N, C, H, W] -> y, argmax: [N, C, outH, outW]; kH x kW windows inside the input
function maxPoolInside(g: Pool2dGeometry, x: Float32Array, y: Float32Array, argmax: Int32Array): void {
  const { n, c, h: H, w: W, kH, kW, sH, sW, outH, outW } = g;
  const planes = n * c, plane = H * W;
  let q = 0;
  for (let pl = 0; pl < planes; pl++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0, r = pl * plane + oy * sH * W; ox < outW; ox++, q++, r += sW) {
        let best = r, m = x[r];
        for (let i = 0; i < kH; i++) {
          for (let j = i === 0 ? 1 : 0, idx = r + i * W + j; j < kW; j++, idx++) {
            const v = x[idx];
            const cmp = +(v > m) | +(v !== v);
            best += cmp * (idx - best);
            m = x[best];
          }
        }
        y[q] = m;
        argmax[q] = best;
      }
    }
  }
}

/** Overwrites dx with zeros, then adds each dy value to the input cell its window selected. */
export function maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array): void {
  if (useWasm() && wasmMaxPoolBackward(dy, argmax, dx)) return;
  dx.fill(0);
  for (let q = 0; q < dy.length; q++) {
    const idx = argmax[q];
    if (idx >= 0) dx[idx] += dy[q];
  }
}

// [start, end) of the taps inside the input for each output position, start aligned to the
// dilation grid (PyTorch's `while (ih0 < 0) ih0 += dilation`).
function windowBounds(out: number, size: number, k: number, s: number, p: number, d: number): Int32Array {
  const b = new Int32Array(2 * out);
  for (let o = 0; o < out; o++) {
    let start = o * s - p;
    const end = Math.min(start + (k - 1) * d + 1, size);
    while (start < 0) start += d;
    b[2 * o] = start;
    b[2 * o + 1] = Math.max(start, end);
  }
  return b;
}
