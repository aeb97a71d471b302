// The mostly-constant-input products of ../sparse.ts on the wasm backend: W is transposed into
// scratch so each nonzero of S scales a contiguous row of Wᵀ, many outputs at a time.
// x [rows, cols] = v + S   W: [O, cols]   y: [rows, O]   dout: [rows, O]
import type { SplitRows } from '../sparse.ts';
import { wasmRuntime, type WasmRuntime } from './runtime.ts';
import { LINE_VECTORS } from './sparse-kernel.ts';

/**
 * Whether the wasm products take these shapes. Where the operands live does not matter (those
 * outside the kernel memory are copied in and out), so the same model takes the same products,
 * and gives the same bits, whether its weights were drawn or loaded from a file.
 */
export function wasmSplitFits(O: number, cols: number): boolean {
  return O % (4 * LINE_VECTORS) === 0 && cols % 4 === 0;
}

const ints = (rt: WasmRuntime, addr: number, n: number) => new Int32Array(rt.f32.buffer, addr, n);
const floats = (rt: WasmRuntime, addr: number, n: number) => new Float32Array(rt.f32.buffer, addr, n);

/** y = x · Wᵀ (+ bias) = v · (row sums of W) (+ bias) + S · Wᵀ. */
export function wasmSplitGemmNT(s: SplitRows, O: number, w: Float32Array, y: Float32Array, bias: Float32Array | null = null): void {
  const rt = wasmRuntime();
  const { rows, cols, v, nnz } = s;
  rt.begin(4 * (cols * O + rows + 1 + 2 * nnz + O) + 96 + rt.stageBytes(w, w.length) + rt.stageBytes(y, y.length));
  const pw = rt.place(w, 0, w.length), py = rt.place(y, 0, y.length, false);
  const wt = rt.scratch(4 * cols * O);
  const ptr = rt.scratch(4 * (rows + 1)), at = rt.scratch(4 * nnz), val = rt.scratch(4 * nnz);
  ints(rt, ptr, rows + 1).set(s.rowPtr.subarray(0, rows + 1));
  ints(rt, at, nnz).set(s.idx.subarray(0, nnz));
  floats(rt, val, nnz).set(s.val.subarray(0, nnz));
  rt.k.transpose4(pw, O, cols, wt, 0, 0);
  // the row sums of W (W as one image of O planes)
  const sums = rt.scratch(4 * O);
  const c = floats(rt, sums, O).fill(0), out = floats(rt, py, rows * O);
  rt.k.planeSums(pw, 1, O, cols, sums);
  if (bias) for (let o = 0; o < O; o++) c[o] = v * c[o] + bias[o];
  else for (let o = 0; o < O; o++) c[o] *= v;
  for (let r = 0; r < rows; r++) out.set(c, r * O);
  rt.k.sparseLines(ptr, at, val, rows, wt, O, py, 1);
  rt.copyBack(y, py);
}

/**
 * dW += doutᵀ · x = v · (column sums of dout) on every entry of its row + (Sᵀ · dout)ᵀ; dbias,
 * if given, += the column sums of dout (the same sums).
 */
export function wasmSplitGemmTN(dout: Float32Array, O: number, s: SplitRows, dw: Float32Array, dbias: Float32Array | null = null): void {
  const rt = wasmRuntime();
  const { rows, cols, v, nnz, rowPtr, idx, val } = s;
  rt.begin(4 * (cols * O + cols + 1 + 2 * nnz + O) + 96 + rt.stageBytes(dout, dout.length) + rt.stageBytes(dw, dw.length));
  const pd = rt.place(dout, 0, dout.length), pdw = rt.place(dw, 0, dw.length);
  const dwt = rt.scratch(4 * cols * O);
  const cptr = rt.scratch(4 * (cols + 1)), cat = rt.scratch(4 * nnz), cval = rt.scratch(4 * nnz), add = rt.scratch(4 * O);
  // S in compressed columns, rows in order within each column
  const cp = ints(rt, cptr, cols + 1), ca = ints(rt, cat, nnz), cv = floats(rt, cval, nnz);
  cp.fill(0);
  for (let p = 0; p < nnz; p++) cp[idx[p] + 1]++;
  for (let kk = 0; kk < cols; kk++) cp[kk + 1] += cp[kk];
  for (let r = 0; r < rows; r++) {
    for (let p = rowPtr[r], e = rowPtr[r + 1]; p < e; p++) {
      const q = cp[idx[p]]++;
      ca[q] = r;
      cv[q] = val[p];
    }
  }
  for (let kk = cols; kk > 0; kk--) cp[kk] = cp[kk - 1];
  cp[0] = 0;
  rt.k.sparseLines(cptr, cat, cval, cols, pd, O, dwt, 0);
  const sums = floats(rt, add, O);
  sums.fill(0);
  for (let r = 0; r < rows; r++) for (let o = 0, q = r * O; o < O; o++, q++) sums[o] += dout[q];
  if (dbias) for (let o = 0; o < O; o++) dbias[o] += sums[o];
  for (let o = 0; o < O; o++) sums[o] *= v;
  rt.k.transpose4(dwt, cols, O, pdw, 1, add);
  rt.copyBack(dw, pdw);
}
