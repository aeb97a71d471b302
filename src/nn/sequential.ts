// A flat list of layers applied in order, like torch.nn.Sequential; parameter names are
// PyTorch's state_dict keys ("1.weight").
import type { Tensor } from '../engine/tensor.ts';
import { Module, NO_INPUT_GRAD, type Buffer, type LayerSpec, type Parameter } from './module.ts';

export interface NamedParameter extends Parameter {
  readonly key: string;
}

export class Sequential extends Module {
  readonly type = 'Sequential';
  readonly layers: Module[];
  // first layer with parameters: where backward stops when inputGrad is false
  private readonly firstTrainable: number;

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    const i = layers.findIndex((l) => l.parameters().length > 0);
    this.firstTrainable = i < 0 ? layers.length : i;
  }

  forward(x: Tensor): Tensor {
    for (const l of this.layers) x = l.forward(x);
    return x;
  }

  /** Runs forward and returns a copy of every layer's output, for inspection (not training). */
  forwardTrace(x: Tensor): Tensor[] {
    const outs: Tensor[] = [];
    for (const l of this.layers) {
      x = l.forward(x);
      outs.push(x.clone());
    }
    return outs;
  }

  backward(dout: Tensor): Tensor {
    if (this.inputGrad) {
      for (let i = this.layers.length - 1; i >= 0; i--) {
        this.layers[i].inputGrad = true;
        dout = this.layers[i].backward(dout);
      }
      return dout;
    }
    // nothing reads dL/dinput: stop at the first layer with parameters and let it skip dx
    const stop = this.firstTrainable;
    for (let i = this.layers.length - 1; i >= stop; i--) {
      this.layers[i].inputGrad = i > stop;
      dout = this.layers[i].backward(dout);
    }
    return NO_INPUT_GRAD;
  }

  outputShape(inShape: readonly number[]): number[] {
    let s = [...inShape];
    for (const l of this.layers) s = l.outputShape(s);
    return s;
  }

  override parameters(): Parameter[] {
    return this.namedParameters();
  }

  /** Parameters with their state_dict keys, in PyTorch's order. */
  namedParameters(): NamedParameter[] {
    const out: NamedParameter[] = [];
    this.layers.forEach((l, i) => {
      for (const p of l.parameters()) out.push({ ...p, key: `${i}.${p.name}` });
    });
    return out;
  }

  /** Buffers (running statistics) with their state_dict keys ("1.running_mean"). */
  namedBuffers(): (Buffer & { key: string })[] {
    const out: (Buffer & { key: string })[] = [];
    this.layers.forEach((l, i) => {
      for (const b of l.buffers()) out.push({ ...b, key: `${i}.${b.name}` });
    });
    return out;
  }

  override buffers(): Buffer[] {
    return this.namedBuffers();
  }

  override train(mode = true): this {
    this.training = mode;
    for (const l of this.layers) l.train(mode);
    return this;
  }

  spec(): LayerSpec {
    return { type: this.type, layers: this.layers.map((l) => l.spec()) };
  }
}
