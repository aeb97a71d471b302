import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { ReLU } from '../../src/nn/relu.ts';
import { checkOracleCase, distinctTensor, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle } from './helpers.ts';

describe('ReLU', () => {
  it('hand-worked: max(x, 0), gradient 0 where x <= 0 (including exactly 0)', () => {
    const r = new ReLU();
    expect([...r.forward(Tensor.from([1, 4], [-2, 0, 0.5, 3])).data]).toEqual([0, 0, 0.5, 3]);
    expect([...r.backward(Tensor.from([1, 4], [1, 1, 1, 1])).data]).toEqual([0, 0, 1, 1]);
  });

  it('bit-level kernel: sizes not divisible by 4, -0, ±inf and NaN', () => {
    const r = new ReLU();
    const x = Tensor.from([7], [-1.5, -0, 0, Infinity, -Infinity, 2.5, NaN]);
    const y = [...r.forward(x).data];
    expect(y.slice(0, 6)).toEqual([0, 0, 0, Infinity, 0, 2.5]);
    expect(Object.is(y[1], 0)).toBe(true); // -0 becomes +0
    expect(y[6]).toBeNaN(); // NaN propagates, as in PyTorch
    expect([...r.backward(Tensor.from([7], [1, 2, 3, 4, 5, 6, 7])).data]).toEqual([0, 0, 0, 4, 0, 6, 7]);
  });

  it('oracle: every case of test/fixtures/relu.json (inputs with exact zeros)', () => {
    const cases = loadFixture('relu.json');
    // the kink must really be exercised: some inputs are exactly 0
    expect(cases.some((c) => c.input.data.some((v) => v === 0))).toBe(true);
    forEachCase(cases, (c) => checkOracleCase(new ReLU(), c));
  });

  it.skipIf(!hasSharedOracle('relu.json'))('shared oracle (optional, ../shared/oracle/relu.json): every case', () => {
    forEachCase(loadSharedOracle('relu.json'), (c) => checkOracleCase(new ReLU(), c));
  });

  it('gradient check away from the kink', () => {
    // distinct values 0.1 apart, shifted off zero
    const x = distinctTensor([2, 3, 4], new Rng(1));
    for (let i = 0; i < x.size; i++) x.data[i] += 0.05;
    gradCheck(new ReLU(), x, { tol: { rtol: 1e-4, atol: 1e-4 } });
  });

  it('rejects backward before forward and a dout of the wrong size', () => {
    const r = new ReLU();
    expect(() => r.backward(Tensor.zeros([2]))).toThrow('ReLU: backward called before forward');
    r.forward(Tensor.zeros([2, 2]));
    expect(() => r.backward(Tensor.zeros([3]))).toThrow(ShapeError);
  });
});
