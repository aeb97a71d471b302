// Fully connected layer y = x · Wᵀ + b, like torch.nn.Linear (weight [out, in]).
import { ShapeError } from '../engine/errors.ts';
import { gemmNN, gemmNT, gemmTN } from '../engine/gemm.ts';
import { useWasm } from '../engine/backend.ts';
import { SplitRows, splitGemmNT, splitGemmTN, splitRows } from '../engine/sparse.ts';
import { wasmSplitFits, wasmSplitGemmNT, wasmSplitGemmTN } from '../engine/wasm/sparse.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { initParam } from './init.ts';
import { FitError, checkSpec, type LayerDescriptor, type LayerSource } from './layer.ts';
import { Module, NO_INPUT_GRAD, type LayerSpec, type Parameter } from './module.ts';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  /** Stored parameters ("weight", "bias") to adopt instead of drawing fresh ones. */
  state?: Readonly<Record<string, Float32Array>>;
}

export interface LinearSpec extends LayerSpec {
  type: 'Linear';
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

export const linearLayer: LayerDescriptor<LinearSpec> = {
  type: 'Linear',
  arch: 'linear',
  positional: ['outFeatures'],
  input: 'features',
  fields: {
    inFeatures: { kind: 'int', min: 1, limit: 'features', infer: (sample) => sample[sample.length - 1], repr: 'always' },
    outFeatures: { kind: 'int', min: 1, limit: 'features', arch: 'out', repr: 'always' },
    bias: { kind: 'bool', default: true },
  },
  outputShape(s, inShape) {
    if (inShape.length < 2 || inShape[inShape.length - 1] !== s.inFeatures) {
      throw new FitError(
        `Linear: input must be [N, ${s.inFeatures}], but got ${fmtShape(inShape)}`,
        undefined, inShape.length > 2 ? 'add a flatten before the linear layer' : undefined,
      );
    }
    return [...inShape.slice(0, -1), s.outFeatures];
  },
  params: (s) => (s.bias ? [['weight', [s.outFeatures, s.inFeatures]], ['bias', [s.outFeatures]]] : [['weight', [s.outFeatures, s.inFeatures]]]),
  create: (s, from) => new Linear(s.inFeatures, s.outFeatures, { bias: s.bias, ...from }),
};

/**
 * An input with at most this fraction of entries off its main value takes the sparse products
 * (engine/sparse.ts): on MNIST's first layer (about 19%) they run 3-4x faster than the dense js
 * GEMM, and at about 50% (Fashion-MNIST) they still break even.
 */
export const SPARSE_MAX_DENSITY = 0.4;
/**
 * The same for the wasm backend's sparse products (engine/wasm/sparse.ts): MNIST's first layer
 * (19%) takes them, at 16 against 21 µs a sample for the dense f32x4 GEMM; where the two cross was
 * not measured, so the bound stays below Fashion-MNIST's 50%.
 */
export const WASM_SPARSE_MAX_DENSITY = 0.3;
/** Narrower layers skip the sparsity test: it would cost more than it could save. */
const SPARSE_MIN_OUT = 16;

export class Linear extends Module {
  readonly type = 'Linear';
  readonly weight: Parameter;
  readonly bias?: Parameter;
  private readonly s: LinearSpec;
  private x?: Tensor; // forward input, read by backward
  private split = new SplitRows(); // the input as v + sparse, when forward took that path
  private sparse = false;
  /** Lets a test force the dense products (the sparse ones must agree with them). */
  sparseInputs = true;

  /** Whether the last forward took the sparse products. */
  get tookSparsePath(): boolean {
    return this.sparse;
  }
  private out = new Workspace();
  private dx = new Workspace();

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.s = checkSpec(linearLayer, { inFeatures, outFeatures, bias: opts.bias });
    const from: LayerSource = opts.state ? { state: opts.state } : { rng: opts.rng };
    const shapes = linearLayer.params(this.s);
    this.weight = initParam('weight', shapes[0][1], inFeatures, from);
    if (this.s.bias) this.bias = initParam('bias', shapes[1][1], inFeatures, from);
  }

  override parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  outputShape(inShape: readonly number[]): number[] {
    return linearLayer.outputShape(this.s, inShape);
  }

  // x: [N, in] -> y: [N, out]
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    const n = x.size / this.inFeatures;
    const y = this.out.get(shape);
    const wasm = useWasm();
    this.sparse = this.sparseInputs && this.outFeatures >= SPARSE_MIN_OUT &&
      (!wasm || wasmSplitFits(this.outFeatures, this.inFeatures)) &&
      splitRows(x.data, n, this.inFeatures, wasm ? WASM_SPARSE_MAX_DENSITY : SPARSE_MAX_DENSITY, this.split);
    // the wasm sparse product seeds its sums with the bias
    const biasDone = this.sparse && wasm;
    if (biasDone) wasmSplitGemmNT(this.split, this.outFeatures, this.weight.value.data, y.data, this.bias ? this.bias.value.data : null);
    else if (this.sparse) splitGemmNT(this.split, this.outFeatures, this.weight.value.data, y.data);
    else gemmNT(n, this.outFeatures, this.inFeatures, x.data, this.weight.value.data, y.data);
    if (this.bias && !biasDone) {
      const b = this.bias.value.data, yd = y.data, o = this.outFeatures;
      for (let i = 0; i < n; i++) for (let j = 0, q = i * o; j < o; j++, q++) yd[q] += b[j];
    }
    this.x = x;
    return y;
  }

  // dout: [N, out] -> dx: [N, in]; dW += doutᵀ·x, db += Σ_n dout
  backward(dout: Tensor): Tensor {
    const x = this.x;
    if (!x) throw new ShapeError('Linear: backward called before forward');
    const n = x.size / this.inFeatures, o = this.outFeatures, i = this.inFeatures;
    if (dout.size !== n * o) throw new ShapeError(`Linear: dout must be [${n}, ${o}], but got ${fmtShape(dout.shape)}`);
    // the wasm sparse product sums dout's columns anyway: dbias comes with it
    const biasDone = this.sparse && useWasm();
    if (biasDone) wasmSplitGemmTN(dout.data, o, this.split, this.weight.grad.data, this.bias ? this.bias.grad.data : null);
    else if (this.sparse) splitGemmTN(dout.data, o, this.split, this.weight.grad.data);
    else gemmTN(o, i, n, dout.data, x.data, this.weight.grad.data, true);
    if (this.bias && !biasDone) {
      const db = this.bias.grad.data, d = dout.data;
      for (let r = 0; r < n; r++) for (let j = 0, q = r * o; j < o; j++, q++) db[j] += d[q];
    }
    if (!this.inputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(x.shape);
    gemmNN(n, i, o, dout.data, this.weight.value.data, dx.data);
    return dx;
  }

  spec(): LinearSpec {
    return { ...this.s };
  }
}
