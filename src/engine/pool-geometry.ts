// The shape of one 2D pooling, shared by the kernels of pool.ts and wasm/pool.ts (a file of its
// own so the wasm kernels do not import their caller).
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
