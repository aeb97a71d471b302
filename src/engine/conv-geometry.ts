// The shape of one 2D convolution, shared by the kernels of conv2d.ts and conv-direct.ts (a file
// of its own so neither kernel file imports the other's caller).
import type { WindowGeometry } from './window-geometry.ts';

/** Everything a kernel call needs to know about the shapes; built once per input shape. */
export interface Conv2dGeometry extends WindowGeometry {
  cIn: number; cOut: number; groups: number;
  /** Zero rows above / columns left of the input; the bottom/right padding only shows in outH/outW. */
  padTop: number; padLeft: number;
}
