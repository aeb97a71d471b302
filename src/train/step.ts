// The training step on rows of a batch: zero-grad → forward → loss → backward. The one-thread
// run calls it on the whole batch, ParallelStepper's main thread and each worker on their slice;
// summing the slices' gradients and the optimizer step stay with the caller.
import type { Tensor } from '../engine/tensor.ts';
import { argmaxRows, type CrossEntropyLoss } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';

/** Counts the rows whose argmax equals the label; `pred` holds at least one entry per row. */
function countCorrect(logits: Tensor, y: ArrayLike<number>, pred: Int32Array<ArrayBuffer>): number {
  argmaxRows(logits, pred);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) correct++;
  return correct;
}

export class SliceStep {
  private pred: Int32Array<ArrayBuffer> = new Int32Array(0);

  /** `zeroGrad` clears the gradients this model writes (its own region of shared memory, for a worker). */
  constructor(
    readonly model: Module,
    readonly lossFn: CrossEntropyLoss,
    private readonly zeroGrad: () => void,
  ) {
    // nothing reads the gradient of the images: the first layer may skip that product
    model.inputGrad = false;
  }

  /**
   * Rows x: [n, ...sample] with labels y, out of a batch of `batch` rows: leaves the gradients of
   * (mean loss of these rows) · n / batch, so the slices of a batch sum to the batch's mean.
   * Returns the rows' mean loss (gradients are skipped when it is not finite) and how many the
   * model classified right.
   */
  run(x: Tensor, y: Int32Array, batch = y.length): { loss: number; correct: number } {
    this.zeroGrad();
    const logits = this.model.forward(x);
    const loss = this.lossFn.forward(logits, y);
    if (Number.isFinite(loss)) this.model.backward(this.lossFn.backward(y.length / batch));
    if (this.pred.length < y.length) this.pred = new Int32Array(y.length);
    return { loss, correct: countCorrect(logits, y, this.pred) };
  }
}
