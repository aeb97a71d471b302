// Products with an input that is mostly one value: x = v + S with S sparse (MNIST's background is
// one value after normalisation, about 80% of every image), so x·Wᵀ and doutᵀ·x cost in proportion
// to S's nonzeros instead of the whole of x. Linear uses them when x is sparse enough.

/** x [rows, cols] as v + S, S in compressed sparse rows; buffers grow, never shrink. */
export class SplitRows {
  rows = 0;
  cols = 0;
  /** The value most of x holds. */
  v = 0;
  nnz = 0;
  rowPtr = new Int32Array(1);
  idx = new Int32Array(0);
  val = new Float32Array(0);
}

/**
 * Splits x [rows, cols] into v + S with v = x[0], or 0 if that leaves too many entries, and
 * returns false (leaving `out` unusable) when neither keeps S within `maxDensity` of x.
 */
export function splitRows(x: Float32Array, rows: number, cols: number, maxDensity: number, out: SplitRows): boolean {
  const budget = Math.floor(maxDensity * rows * cols);
  if (out.rowPtr.length < rows + 1) out.rowPtr = new Int32Array(rows + 1);
  if (out.idx.length < budget) {
    out.idx = new Int32Array(budget);
    out.val = new Float32Array(budget);
  }
  out.rows = rows;
  out.cols = cols;
  if (trySplit(x, rows, cols, x[0], budget, out)) return true;
  return x[0] !== 0 && trySplit(x, rows, cols, 0, budget, out);
}

function trySplit(x: Float32Array, rows: number, cols: number, v: number, budget: number, out: SplitRows): boolean {
  const { rowPtr, idx, val } = out;
  let nz = 0;
  for (let r = 0; r < rows; r++) {
    rowPtr[r] = nz;
    for (let k = 0, q = r * cols; k < cols; k++, q++) {
      const d = x[q] - v;
      if (d !== 0) {
        if (nz === budget) return false;
        idx[nz] = k;
        val[nz++] = d;
      }
    }
  }
  rowPtr[rows] = nz;
  out.v = v;
  out.nnz = nz;
  return true;
}

/**
 * y [rows, O] = x · Wᵀ for x split as v + S and W [O, cols]: v · (row sums of W) + S · Wᵀ.
 * Eight rows of W at a time stay in L1 while every row of S streams past them.
 */
export function splitGemmNT(s: SplitRows, O: number, w: Float32Array, y: Float32Array): void {
  const { rows, cols, v, rowPtr, idx, val } = s;
  let o = 0;
  for (; o + 8 <= O; o += 8) {
    const b0 = o * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols, b4 = b3 + cols, b5 = b4 + cols, b6 = b5 + cols, b7 = b6 + cols;
    const c0 = v * rowSum(w, b0, cols), c1 = v * rowSum(w, b1, cols), c2 = v * rowSum(w, b2, cols), c3 = v * rowSum(w, b3, cols);
    const c4 = v * rowSum(w, b4, cols), c5 = v * rowSum(w, b5, cols), c6 = v * rowSum(w, b6, cols), c7 = v * rowSum(w, b7, cols);
    for (let r = 0; r < rows; r++) {
      let y0 = c0, y1 = c1, y2 = c2, y3 = c3, y4 = c4, y5 = c5, y6 = c6, y7 = c7;
      for (let p = rowPtr[r], e = rowPtr[r + 1]; p < e; p++) {
        const k = idx[p], a = val[p];
        y0 += a * w[b0 + k]; y1 += a * w[b1 + k]; y2 += a * w[b2 + k]; y3 += a * w[b3 + k];
        y4 += a * w[b4 + k]; y5 += a * w[b5 + k]; y6 += a * w[b6 + k]; y7 += a * w[b7 + k];
      }
      const q = r * O + o;
      y[q] = y0; y[q + 1] = y1; y[q + 2] = y2; y[q + 3] = y3;
      y[q + 4] = y4; y[q + 5] = y5; y[q + 6] = y6; y[q + 7] = y7;
    }
  }
  for (; o < O; o++) {
    const b = o * cols, c = v * rowSum(w, b, cols);
    for (let r = 0; r < rows; r++) {
      let acc = c;
      for (let p = rowPtr[r], e = rowPtr[r + 1]; p < e; p++) acc += val[p] * w[b + idx[p]];
      y[r * O + o] = acc;
    }
  }
}

/**
 * dW [O, cols] += doutᵀ · x for dout [rows, O] and x split as v + S:
 * v · (column sums of dout) added to every entry of its row of dW, plus doutᵀ · S.
 */
export function splitGemmTN(dout: Float32Array, O: number, s: SplitRows, dw: Float32Array): void {
  const { rows, cols, v, rowPtr, idx, val } = s;
  if (v !== 0) {
    for (let o = 0; o < O; o++) {
      let c = 0;
      for (let r = 0, q = o; r < rows; r++, q += O) c += dout[q];
      c *= v;
      for (let k = 0, q = o * cols; k < cols; k++, q++) dw[q] += c;
    }
  }
  let o = 0;
  for (; o + 8 <= O; o += 8) {
    const b0 = o * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols, b4 = b3 + cols, b5 = b4 + cols, b6 = b5 + cols, b7 = b6 + cols;
    for (let r = 0; r < rows; r++) {
      const t = r * O + o;
      const d0 = dout[t], d1 = dout[t + 1], d2 = dout[t + 2], d3 = dout[t + 3], d4 = dout[t + 4], d5 = dout[t + 5], d6 = dout[t + 6], d7 = dout[t + 7];
      for (let p = rowPtr[r], e = rowPtr[r + 1]; p < e; p++) {
        const k = idx[p], a = val[p];
        dw[b0 + k] += d0 * a; dw[b1 + k] += d1 * a; dw[b2 + k] += d2 * a; dw[b3 + k] += d3 * a;
        dw[b4 + k] += d4 * a; dw[b5 + k] += d5 * a; dw[b6 + k] += d6 * a; dw[b7 + k] += d7 * a;
      }
    }
  }
  for (; o < O; o++) {
    const b = o * cols;
    for (let r = 0; r < rows; r++) {
      const d = dout[r * O + o];
      for (let p = rowPtr[r], e = rowPtr[r + 1]; p < e; p++) dw[b + idx[p]] += d * val[p];
    }
  }
}

function rowSum(w: Float32Array, off: number, n: number): number {
  let s = 0;
  for (let k = off, e = off + n; k < e; k++) s += w[k];
  return s;
}
