// The fields every sliding-window kernel (convolution, pooling) is described by: batch, input
// plane, window, stride, dilation and output plane; conv-geometry.ts and pool-geometry.ts add their own.
export interface WindowGeometry {
  n: number; h: number; w: number;
  kH: number; kW: number;
  sH: number; sW: number;
  dH: number; dW: number;
  outH: number; outW: number;
}
