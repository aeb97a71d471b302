import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { CrossEntropyLoss, argmaxRows } from '../../src/nn/loss.ts';
import { expectClose, forEachCase, hasSharedOracle, loadFixture, loadSharedOracle, numericGrad, randomTensor, tensorOf, type OracleCase } from './helpers.ts';

/** A cross_entropy oracle case: loss, and dloss/dlogits scaled by the upstream gradient. */
function checkCrossEntropy(c: OracleCase): void {
  const ce = new CrossEntropyLoss({ labelSmoothing: (c.config.label_smoothing as number | undefined) ?? 0 });
  const loss = ce.forward(tensorOf(c.input), c.target!);
  expectClose([loss], c.output.data, c.tolerance, `${c.name} output`);
  expectClose([loss], [c.loss], c.tolerance, `${c.name} loss`);
  expectClose(ce.backward(c.grad_output.data[0]).data, c.grads.input, c.tolerance, `${c.name} grad input`);
}

describe('CrossEntropyLoss', () => {
  it('hand-worked: logits [0, ln 3], target 1 -> loss ln(4/3), grad [1/4, -1/4]', () => {
    const ce = new CrossEntropyLoss();
    expect(ce.forward(Tensor.from([1, 2], [0, Math.log(3)]), [1])).toBeCloseTo(Math.log(4 / 3), 6);
    const d = ce.backward();
    expect(d.data[0]).toBeCloseTo(0.25, 6);
    expect(d.data[1]).toBeCloseTo(-0.25, 6);
  });

  it('oracle: every case of test/fixtures/cross_entropy.json (large logits, label smoothing)', () => {
    const cases = loadFixture('cross_entropy.json');
    expect(cases.some((c) => (c.config.label_smoothing as number) > 0)).toBe(true);
    forEachCase(cases, checkCrossEntropy);
  });

  it.skipIf(!hasSharedOracle('cross_entropy.json'))('shared oracle (optional, ../shared/oracle/cross_entropy.json): every case', () => {
    forEachCase(loadSharedOracle('cross_entropy.json'), checkCrossEntropy);
  });

  it('gradient check (mean reduction)', () => {
    const rng = new Rng(1);
    const x = randomTensor([4, 5], rng, -3, 3);
    const target = [0, 4, 2, 2];
    const ce = new CrossEntropyLoss();
    ce.forward(x, target);
    const d = ce.backward().data.slice();
    expectClose(d, numericGrad(x.data, () => new CrossEntropyLoss().forward(x, target), 1e-2), { rtol: 1e-3, atol: 1e-4 }, 'dlogits');
  });

  it('rejects mismatched targets and out-of-range classes', () => {
    const ce = new CrossEntropyLoss();
    expect(() => ce.forward(Tensor.zeros([2, 3]), [0])).toThrow(ShapeError);
    expect(() => ce.forward(Tensor.zeros([2, 3]), [0, 3])).toThrow('CrossEntropyLoss: target 3 at row 1 is outside [0, 3)');
    expect(() => ce.forward(Tensor.zeros([6]), [0])).toThrow(/rank 2/);
  });

  it('argmaxRows picks the first maximum of each row', () => {
    expect([...argmaxRows(Tensor.from([2, 3], [1, 3, 3, 5, 0, 1]))]).toEqual([1, 0]);
  });
});
