// The kernel module's instance and its one WebAssembly.Memory, per thread: a bump allocator with
// exact-size free lists for blocks that persist (tensors, packed weights, scratch), and
// `stage` for copying an operand that lives outside the memory in for one call.
//
// The memory is shared (SharedArrayBuffer-backed) wherever the runtime allows it, because growing
// a shared memory never detaches the views already made on it: a Float32Array handed out by
// allocFloats stays valid for good. Without shared memory, allocFloats is refused (views would
// die on the next grow) and the kernels copy their operands in and out instead.
// Worker threads adopt the main thread's memory (adoptKernelMemory), so parameters, gradients
// and batches live in one place that every thread's kernels read in place; the allocator's top
// then sits in the memory itself and moves atomically, while free lists stay per thread.
import { F32x4, Func, V128, assemble, get, i32, v128 } from './asm.ts';
import { gemmPackedFunc, packAFunc, packBFunc } from './gemm-kernel.ts';
import { elementwiseFuncs } from './elementwise-kernel.ts';
import { convFuncs } from './conv-kernel.ts';
import { poolFuncs } from './pool-kernel.ts';
import { sparseFuncs } from './sparse-kernel.ts';
import { winogradFuncs } from './winograd-kernel.ts';
import { directFuncs } from './direct-kernel.ts';

const PAGE = 65536;
/** Int32 index, in the memory's first (never handed out) KiB, of the allocator's shared top. */
const TOP = 4;
const FIRST_FREE = 1024;
/** 1 GiB of address space at most (reserved, not resident). */
const MAX_PAGES = 16384;

export interface KernelExports {
  packA(M: number, K: number, a: number, ars: number, acs: number, out: number, stride: number): void;
  packB(N: number, K: number, b: number, brs: number, bcs: number, out: number, stride: number): void;
  gemmPacked(M: number, N: number, K: number, pa: number, aStride: number, pb: number, bStride: number, c: number, ldc: number, accumulate: number, edge: number): void;
  gemmRows(M: number, N: number, K: number, pa: number, aStride: number, pb: number, bStride: number, c: number, ldc: number, accumulate: number, edge: number, bk: number): void;
  wgInput(x: number, planes: number, H: number, W: number, top: number, left: number, pad: number, PW: number, tilesH: number, tilesW: number, v: number, rowBytes: number, eBytes: number): void;
  wgGrad(dy: number, planes: number, H: number, W: number, top: number, left: number, pad: number, PW: number, tilesH: number, tilesW: number, d: number, rowBytes: number, eBytes: number): void;
  wgOutput(m: number, rowBytes: number, eBytes: number, planes: number, tilesH: number, tilesW: number, y: number, outH: number, outW: number, bias: number, edge: number): void;
  direct3x3(x: number, H: number, W: number, top: number, left: number, pad: number, PW: number, w: number, bias: number, O: number, y: number, outH: number, outW: number): void;
  zeroCols(a: number, rows: number, rowBytes: number, from: number, to: number): void;
  im2col(x: number, col: number, C: number, H: number, W: number, kH: number, kW: number, sH: number, sW: number, dH: number, dW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  col2im(dx: number, col: number, C: number, H: number, W: number, kH: number, kW: number, sH: number, sW: number, dH: number, dW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  im2colSame(x: number, col: number, C: number, H: number, W: number, kH: number, kW: number, padTop: number, padLeft: number): void;
  col2imSame(dx: number, col: number, C: number, H: number, W: number, kH: number, kW: number, padTop: number, padLeft: number): void;
  relu(x: number, y: number, n: number): void;
  addInto(dst: number, src: number, n: number): void;
  planeSums(a: number, n: number, C: number, L: number, out: number): void;
  dotRows(a: number, aStride: number, M: number, b: number, bStride: number, N: number, len: number, c: number, ldc: number): void;
  transpose4(src: number, rows: number, cols: number, dst: number, accumulate: number, add: number): void;
  sparseLines(ptr: number, at: number, val: number, lines: number, m: number, width: number, out: number, accumulate: number): void;
  reluBackward(y: number, dy: number, dx: number, n: number): void;
  sgd(w: number, g: number, buf: number, n: number, lr: number, wd: number, keep: number, c: number, mu: number, mode: number): void;
  maxPool2x2(x: number, y: number, argmax: number, planes: number, H: number, W: number, outH: number, outW: number): void;
  maxPoolBackward(dy: number, argmax: number, dx: number, n: number, inSize: number): void;
  adam(w: number, g: number, m: number, v: number, n: number, decay: number, l2: number, b1: number, c1: number, b2: number, c2: number, stepSize: number, invBc2sqrt: number, eps: number): void;
}

let simd: boolean | undefined;

/** Whether this runtime runs WebAssembly with 128-bit SIMD (validates a module that uses it). */
export function simdSupported(): boolean {
  if (simd === undefined) {
    try {
      const f = new Func('t', [i32], [v128]);
      f.body = F32x4.add(V128.load(get(f.params[0])), V128.zero());
      simd = typeof WebAssembly === 'object' && WebAssembly.validate(assemble({ module: 'env', name: 'memory', initial: 1 }, [f]));
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** Every function of the kernel module (the tests validate each module they build). */
export function kernelFuncs(): Func[] {
  return [packAFunc(), packBFunc(), gemmPackedFunc(), gemmPackedFunc(true), ...elementwiseFuncs(), ...convFuncs(), ...poolFuncs(), ...sparseFuncs(), ...winogradFuncs(), ...directFuncs()];
}

/** Whether this realm can back the kernel memory with a SharedArrayBuffer. */
function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer === 'function';
}

function kernelBytes(shared: boolean): Uint8Array {
  return assemble({ module: 'env', name: 'memory', initial: 1, maximum: MAX_PAGES, shared }, kernelFuncs());
}

let precompiled: WebAssembly.Module | undefined;

/**
 * Compiles the kernel module ahead of its first use, asynchronously. A browser page must await
 * this before the wasm kernels run: Chromium refuses to compile a module over 4 KB synchronously
 * on the main thread. Elsewhere (Node, workers) the first kernel call compiles it on the spot.
 */
export async function compileKernels(): Promise<void> {
  precompiled ??= await WebAssembly.compile(kernelBytes(sharedMemoryAvailable()) as Uint8Array<ArrayBuffer>);
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly k: KernelExports;
  readonly shared: boolean;
  private readonly header: Int32Array; // [TOP]: first free byte, shared by every thread on this memory
  private free = new Map<number, number[]>(); // bytes -> addresses of freed blocks
  private buffers = new Set<ArrayBufferLike>();
  private view: Float32Array;
  private stageTop = 0;
  private stageBase = 0;
  private stageSize = 0;

  /** With `memory`, adopts another thread's (shared) kernel memory instead of making one. */
  constructor(memory?: WebAssembly.Memory) {
    this.shared = memory ? true : sharedMemoryAvailable();
    this.memory = memory ?? new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: this.shared });
    this.header = new Int32Array(this.memory.buffer, 0, 16);
    if (!memory) this.header[TOP] = FIRST_FREE; // the first KiB stays unused: address 0 is never handed out
    const module = precompiled ?? new WebAssembly.Module(kernelBytes(this.shared) as Uint8Array<ArrayBuffer>);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.k = instance.exports as unknown as KernelExports;
    this.view = new Float32Array(this.memory.buffer);
    this.buffers.add(this.memory.buffer);
  }

  /** A float32 view of the whole memory (renewed after growth). */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer || this.view.length * 4 < this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
    return this.view;
  }

  /** Whether `a` is a view on this memory (so kernels can use it in place). */
  holds(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** The memory's buffer as of now (another thread may have grown it), known to holds(). */
  private current(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  private grow(end: number): void {
    if (end > MAX_PAGES * PAGE) throw new RangeError(`wasm kernels: ${end} bytes of memory needed, at most ${MAX_PAGES * PAGE}`);
    // another thread may grow the same memory at the same moment: grow until it is big enough
    for (let have = this.current().byteLength; have < end; have = this.current().byteLength) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        if (this.current().byteLength < end) throw e;
      }
    }
  }

  /** A 16-byte aligned block of `bytes` that persists until release(). */
  alloc(bytes: number): number {
    bytes = Math.max(16, (bytes + 15) & ~15);
    const list = this.free.get(bytes);
    if (list && list.length) return list.pop()!;
    const addr = this.shared ? Atomics.add(this.header, TOP, bytes) : this.header[TOP];
    if (!this.shared) this.header[TOP] = addr + bytes;
    this.grow(addr + bytes);
    return addr;
  }

  release(addr: number, bytes: number): void {
    bytes = Math.max(16, (bytes + 15) & ~15);
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(addr);
  }

  /**
   * n floats of zeros in this memory that stay valid (needs the shared memory; else null). The
   * block returns to the allocator once the view is garbage (or at releaseFloats).
   */
  allocFloats(n: number): Float32Array | null {
    if (!this.shared) return null;
    const addr = this.alloc(n * 4);
    const a = new Float32Array(this.current(), addr, n);
    a.fill(0);
    this.finalizer.register(a, [addr, n * 4], a);
    return a;
  }

  /** A view of n floats at byte address addr: a block that another thread on this memory allocated. */
  floatsAt(addr: number, n: number): Float32Array {
    return new Float32Array(this.current(), addr, n);
  }

  /** Returns a block from allocFloats at once (the view must not be used again). */
  releaseFloats(a: Float32Array): void {
    if (this.holds(a) && this.finalizer.unregister(a)) this.release(a.byteOffset, a.length * 4);
  }

  private finalizer = new FinalizationRegistry<[number, number]>(([addr, bytes]) => this.release(addr, bytes));

  // ---- per-call staging: one scratch region, carved up by a kernel call and then reset ----

  /** Starts a kernel call that needs at most `bytes` of scratch (all stage()/scratch() calls). */
  begin(bytes: number): void {
    bytes += 64 * 16; // alignment slack
    if (bytes > this.stageSize) {
      if (this.stageSize) this.release(this.stageBase, this.stageSize);
      this.stageSize = Math.max(bytes, Math.ceil(this.stageSize * 1.5));
      this.stageBase = this.alloc(this.stageSize);
    }
    this.stageTop = this.stageBase;
  }

  /** `bytes` of scratch for this call. */
  scratch(bytes: number): number {
    const addr = this.stageTop;
    this.stageTop = (addr + bytes + 15) & ~15;
    return addr;
  }

  /**
   * The byte address of a[off] for a kernel: in place when a lives in this memory, else the
   * floats a[off .. off+n) are copied into scratch (`copy` false: only reserved, e.g. an output).
   */
  place(a: Float32Array, off: number, n: number, copy = true): number {
    if (this.holds(a)) return a.byteOffset + off * 4;
    const addr = this.scratch(n * 4);
    if (copy) this.f32.set(a.subarray(off, off + n), addr >> 2);
    return addr;
  }

  /** Scratch bytes place() needs for n floats of an operand (0 when it lives here). */
  stageBytes(a: Float32Array, n: number): number {
    return this.holds(a) ? 0 : n * 4 + 16;
  }

  /** The other half of place() for an output: the n floats at addr back into a, unless a lives here. */
  copyBack(a: Float32Array, addr: number, n = a.length): void {
    if (!this.holds(a)) a.set(this.f32.subarray(addr >> 2, (addr >> 2) + n));
  }
}

let runtime: WasmRuntime | undefined;

/** This thread's kernel instance (compiled on first use). */
export function wasmRuntime(): WasmRuntime {
  return (runtime ??= new WasmRuntime());
}

/** The kernel memory to hand to worker threads, or null when it cannot be shared. */
export function shareableKernelMemory(): WebAssembly.Memory | null {
  const rt = wasmRuntime();
  return rt.shared ? rt.memory : null;
}

/**
 * Makes this thread's kernels run on `memory`, another thread's shareableKernelMemory(): a
 * worker calls it before it allocates anything.
 */
export function adoptKernelMemory(memory: WebAssembly.Memory): void {
  if (runtime && runtime.memory !== memory) throw new Error('wasm kernels: this thread already has its own kernel memory');
  runtime ??= new WasmRuntime(memory);
}
