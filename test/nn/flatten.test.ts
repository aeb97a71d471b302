import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { Flatten } from '../../src/nn/flatten.ts';
import { checkOracleCase, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle, randomTensor, type OracleCase } from './helpers.ts';

describe('Flatten', () => {
  it('hand-worked: [2, 3, 4, 5] -> [2, 60] by default, [2, 3, 20] from dim 2, [6, 4, 5] over 0..1', () => {
    expect(new Flatten().outputShape([2, 3, 4, 5])).toEqual([2, 60]);
    expect(new Flatten(2).outputShape([2, 3, 4, 5])).toEqual([2, 3, 20]);
    expect(new Flatten(0, 1).outputShape([2, 3, 4, 5])).toEqual([6, 4, 5]);
    const x = Tensor.from([1, 2, 2], [1, 2, 3, 4]);
    const f = new Flatten();
    expect([...f.forward(x).data]).toEqual([1, 2, 3, 4]);
    expect(f.backward(Tensor.from([1, 4], [5, 6, 7, 8])).shape).toEqual([1, 2, 2]);
  });

  const fromConfig = (c: OracleCase) => new Flatten(c.config.start_dim as number, c.config.end_dim as number);

  it('oracle: every case of test/fixtures/flatten.json (start_dim 1 and 2, end_dim -1 and 2)', () => {
    forEachCase(loadFixture('flatten.json'), (c) => checkOracleCase(fromConfig(c), c));
  });

  it.skipIf(!hasSharedOracle('flatten.json'))('shared oracle (optional, ../shared/oracle/flatten.json): every case', () => {
    forEachCase(loadSharedOracle('flatten.json'), (c) => checkOracleCase(fromConfig(c), c));
  });

  it('gradient check', () => gradCheck(new Flatten(2), randomTensor([2, 3, 2, 2], new Rng(1)), { tol: { rtol: 1e-4, atol: 1e-4 } }));

  it('rejects dims that do not fit the input and non-integer dims', () => {
    expect(() => new Flatten(1.5)).toThrow(ConfigError);
    expect(() => new Flatten(2).forward(Tensor.zeros([4, 3]))).toThrow(ShapeError);
    expect(() => new Flatten(2).forward(Tensor.zeros([4, 3]))).toThrow('Flatten: dims 2..-1 do not fit input [4, 3]');
    expect(() => new Flatten().backward(Tensor.zeros([1]))).toThrow('Flatten: backward called before forward');
  });
});
