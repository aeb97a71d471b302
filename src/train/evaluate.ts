// Runs a model over a split without training: loss, accuracy, predictions, confusion matrix.
import { CrossEntropyLoss, argmaxRows } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../engine/tensor.ts';

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
  try {
    for (const { x, y } of source.epoch()) {
      const logits = model.forward(x);
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
