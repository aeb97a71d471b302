// Runs a model over a split without training: loss, accuracy, predictions, confusion matrix.
import { CrossEntropyLoss, argmaxRows } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';
import { Tensor, shapeSize } from '../engine/tensor.ts';
import { ACTIVATION_BUDGET, activationFloats, inferenceChunk } from './parallel-protocol.ts';

/** Anything that yields labelled batches in a fixed order. */
export interface BatchSource {
  epoch(): Iterable<{ x: Tensor; y: Int32Array }>;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** Predicted class per sample, in the source's order. */
  predictions: Int32Array;
  /** confusion[t * classes + p] counts samples of true class t predicted as p. */
  confusion: Int32Array;
  seconds: number;
}

export function evaluate(model: Module, source: BatchSource, classes = 10): Evaluation {
  const wasTraining = model.training;
  model.eval();
  const lossFn = new CrossEntropyLoss();
  const preds: number[] = [];
  const confusion = new Int32Array(classes * classes);
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  const t0 = performance.now();
  let pred = new Int32Array(0);
  const chunked = new ChunkedForward(model);
  try {
    for (const { x, y } of source.epoch()) {
      const logits = chunked.forward(x);
      const n = y.length;
      lossSum += lossFn.forward(logits, y) * n;
      if (pred.length !== n) pred = new Int32Array(n);
      argmaxRows(logits, pred);
      for (let i = 0; i < n; i++) {
        preds.push(pred[i]);
        confusion[y[i] * classes + pred[i]]++;
        if (pred[i] === y[i]) correct++;
      }
      count += n;
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    loss: count ? lossSum / count : NaN,
    accuracy: count ? correct / count : NaN,
    count,
    predictions: Int32Array.from(preds),
    confusion,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * A forward pass over x in chunks of rows whose layer outputs fit ACTIVATION_BUDGET floats: one
 * thread running a 1000-image CNN batch at once would hold about 150 MB of activations. Rows are
 * independent in eval mode, so the logits are the bits one pass would give.
 */
class ChunkedForward {
  private rows = 0;
  private sample = '';
  private out?: Tensor;
  constructor(private readonly model: Module) {}

  // x: [N, ...sample] -> logits [N, classes]
  forward(x: Tensor): Tensor {
    const n = x.shape[0], sampleShape = x.shape.slice(1);
    if (sampleShape.join() !== this.sample) {
      this.sample = sampleShape.join();
      this.rows = Math.max(1, Math.floor(ACTIVATION_BUDGET / activationFloats(this.model, sampleShape)));
    }
    if (n <= this.rows) return this.model.forward(x);
    const chunk = inferenceChunk(n, this.rows), per = shapeSize(sampleShape);
    const outShape = this.model.outputShape(x.shape), width = outShape[1];
    if (!this.out || this.out.shape[0] !== n || this.out.shape[1] !== width) this.out = Tensor.zeros(outShape);
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      const part = new Tensor([count, ...sampleShape], x.data.subarray(start * per, (start + count) * per));
      this.out.data.set(this.model.forward(part).data.subarray(0, count * width), start * width);
    }
    return this.out;
  }
}
