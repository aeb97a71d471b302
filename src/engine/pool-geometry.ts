// The shape of one 2D pooling, shared by the kernels of pool.ts and wasm/pool.ts (a file of its
// own so the wasm kernels do not import their caller).
import type { WindowGeometry } from './window-geometry.ts';

export interface Pool2dGeometry extends WindowGeometry {
  /** Channels (each pooled on its own) and the padding on each side (cells no window can select). */
  c: number;
  pH: number; pW: number;
  /** [start, end) of the in-input taps per output row / column (from pool2dGeometry). */
  rows: Int32Array; cols: Int32Array;
}
