// evaluate(): loss, accuracy, predictions and confusion over a batch source, and the chunked
// forward pass that keeps one thread's activations bounded without changing a bit of the logits.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { cnnSpecs } from '../../src/nn/arch.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { CrossEntropyLoss } from '../../src/nn/loss.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { ACTIVATION_BUDGET, activationFloats } from '../../src/train/parallel-protocol.ts';

function source(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Tensor([n, 1, 28, 28], Float32Array.from({ length: n * 784 }, () => rng.uniform(-0.5, 2.5)));
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  return { x, y, src: { epoch: () => [{ x, y }] } };
}

describe('evaluate', () => {
  it('a CNN batch too big for one pass runs in chunks and gives the bits of one whole pass', () => {
    manualSeed(4);
    const model = buildModel(cnnSpecs());
    const rows = Math.floor(ACTIVATION_BUDGET / activationFloats(model, [1, 28, 28]));
    const n = 3 * rows + 7; // several chunks, the batch not a multiple of the chunk
    const { x, y, src } = source(n, 2);
    model.train(); // evaluate switches to eval mode and back
    const ev = evaluate(model, src);
    expect(model.training).toBe(true);
    model.eval();
    const logits = model.forward(x); // the whole batch at once
    const loss = new CrossEntropyLoss().forward(logits, y);
    expect(ev.loss).toBe(loss);
    const want = Array.from({ length: n }, (_, i) => {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits.data[i * 10 + c] > logits.data[i * 10 + best]) best = c;
      return best;
    });
    expect(Array.from(ev.predictions)).toEqual(want);
    expect(ev.count).toBe(n);
    expect(ev.accuracy).toBe(want.filter((p, i) => p === y[i]).length / n);
    expect(ev.confusion.reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('an MLP batch of 1000 fits one pass', () => {
    manualSeed(4);
    const model = buildModel(mlpSpecs([256]));
    expect(Math.floor(ACTIVATION_BUDGET / activationFloats(model, [1, 28, 28]))).toBeGreaterThanOrEqual(1000);
    const { src } = source(50, 3);
    const ev = evaluate(model, src);
    expect(ev.count).toBe(50);
    expect(Number.isFinite(ev.loss)).toBe(true);
  });
});
