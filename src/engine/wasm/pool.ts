// Max-pool entry points of the wasm backend: they run only on buffers that live in the kernel
// memory (layer workspaces do) and say so by their result; the caller's TypeScript kernel does the rest.
import type { Pool2dGeometry } from '../pool-geometry.ts';
import { wasmRuntime } from './runtime.ts';

/** Whether the 2×2, stride-2 kernel covers this geometry (every window inside the input, rows of ≥ 4 windows). */
function twoByTwo(g: Pool2dGeometry): boolean {
  return g.kH === 2 && g.kW === 2 && g.sH === 2 && g.sW === 2 && g.pH === 0 && g.pW === 0 &&
    2 * g.outH <= g.h && 2 * g.outW <= g.w && g.outW >= 4;
}

/** y, argmax = 2×2 max-pool of x, or false when the geometry or the buffers are not the kernel's. */
export function wasmMaxPool2x2(g: Pool2dGeometry, x: Float32Array, y: Float32Array, argmax: Int32Array): boolean {
  const rt = wasmRuntime();
  if (!twoByTwo(g) || !rt.holds(x) || !rt.holds(y) || !rt.holds(argmax)) return false;
  rt.k.maxPool2x2(x.byteOffset, y.byteOffset, argmax.byteOffset, g.n * g.c, g.h, g.w, g.outH, g.outW);
  return true;
}

/** dx = 0, then each dy value added at its argmax; false when a buffer lives outside the kernel memory. */
export function wasmMaxPoolBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array): boolean {
  const rt = wasmRuntime();
  if (!rt.holds(dy) || !rt.holds(argmax) || !rt.holds(dx)) return false;
  rt.k.maxPoolBackward(dy.byteOffset, argmax.byteOffset, dx.byteOffset, dy.length, dx.length);
  return true;
}
