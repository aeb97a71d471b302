// 2D max pooling kernels with PyTorch's CPU semantics: implicit -inf padding, dilation, ceil
// mode, first maximum wins ties, NaN propagates; forward records argmax for backward.
//
// x: [N, C, H, W] -> y: [N, C, outH, outW], argmax: [N, C, outH, outW] flat indices into x

export interface Pool2dGeometry {
  n: number; c: number; h: number; w: number;
  kH: number; kW: number;
  sH: number; sW: number;
  pH: number; pW: number;
  dH: number; dW: number;
  outH: number; outW: number;
  /** [start, end) of the in-input taps per output row / column (from pool2dGeometry). */
  rows: Int32Array; cols: Int32Array;
}

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

/** Overwrites dx with zeros, then adds each dy value to the input cell its window selected. */
export function maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array): void {
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
