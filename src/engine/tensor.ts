// Tensor: a shape over a flat row-major Float32Array (NCHW for images). No autograd here:
// each layer owns its backward pass.
import { ShapeError } from './errors.ts';
import { useWasm } from './backend.ts';
import { wasmRuntime } from './wasm/runtime.ts';

export class Tensor {
  readonly size: number;

  constructor(readonly shape: readonly number[], readonly data: Float32Array) {
    const size = shapeSize(shape);
    if (size !== data.length) {
      throw new ShapeError(`Tensor: shape [${shape.join(', ')}] holds ${size} values, but data has ${data.length}`);
    }
    this.size = size;
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor([...shape], new Float32Array(shapeSize(shape)));
  }

  static from(shape: readonly number[], values: ArrayLike<number>): Tensor {
    return new Tensor([...shape], Float32Array.from(values));
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A view with another shape over the same data (no copy). */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor([...shape], this.data);
  }

  clone(): Tensor {
    return new Tensor([...this.shape], this.data.slice());
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`Tensor: bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** n zeros where the selected backend's kernels work on them best (the wasm kernel memory, if used). */
export function kernelFloats(n: number): Float32Array {
  return (useWasm() && wasmRuntime().allocFloats(n)) || new Float32Array(n);
}

/**
 * A buffer a layer reuses across calls with the same shape, so the training loop does not
 * allocate. The returned tensor is overwritten by the next call: copy it to keep it. With the
 * wasm backend it lives in the kernel memory, so the kernels read and write it in place.
 */
export class Workspace {
  private t?: Tensor;
  get(shape: readonly number[]): Tensor {
    if (!this.t || !sameShape(this.t.shape, shape)) {
      // the previous buffer goes back at once (its contents were only good until this call):
      // waiting for the garbage collector let the kernel memory grow with every switch between
      // training and evaluation shapes
      if (this.t) wasmRuntime().releaseFloats(this.t.data);
      this.t = new Tensor([...shape], kernelFloats(shapeSize(shape)));
    }
    return this.t;
  }
}

/** Throws a ShapeError naming the op unless x has the given rank. */
export function expectRank(op: string, x: Tensor, rank: number, what = 'input'): void {
  if (x.rank !== rank) {
    throw new ShapeError(`${op}: ${what} must be rank ${rank}, but got rank ${x.rank} ${fmtShape(x.shape)}`);
  }
}

/** Int32 views of float buffers, cached per slot so steady-state calls allocate nothing. */
export class Int32Views {
  private readonly src: (Float32Array | undefined)[];
  private readonly dst: Int32Array[];
  constructor(slots: number) {
    this.src = new Array<Float32Array | undefined>(slots).fill(undefined);
    this.dst = new Array<Int32Array>(slots).fill(new Int32Array(0));
  }
  of(a: Float32Array, slot: number): Int32Array {
    if (this.src[slot] !== a) {
      this.src[slot] = a;
      this.dst[slot] = new Int32Array(a.buffer, a.byteOffset, a.length);
    }
    return this.dst[slot];
  }
}
