import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { LogSoftmax, Softmax } from '../../src/nn/softmax.ts';
import { checkOracleCase, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle, randomTensor, type OracleCase } from './helpers.ts';

function fromCase(c: OracleCase): Softmax | LogSoftmax {
  const dim = c.config.dim as number;
  if (c.op === 'softmax') return new Softmax(dim);
  if (c.op === 'log_softmax') return new LogSoftmax(dim);
  throw new Error(`unexpected op ${c.op}`);
}

describe('Softmax / LogSoftmax hand-worked', () => {
  it('softmax([0, ln 3]) = [1/4, 3/4] and log_softmax = [-ln 4, ln 3 - ln 4]', () => {
    const x = Tensor.from([1, 2], [0, Math.log(3)]);
    const y = new Softmax().forward(x);
    expect(y.data[0]).toBeCloseTo(0.25, 6);
    expect(y.data[1]).toBeCloseTo(0.75, 6);
    const l = new LogSoftmax().forward(x);
    expect(l.data[0]).toBeCloseTo(-Math.log(4), 6);
    expect(l.data[1]).toBeCloseTo(Math.log(3) - Math.log(4), 6);
  });

  it('backward: softmax dx = y(G - Σ G y), log-softmax dx = G - softmax · Σ G', () => {
    const x = Tensor.from([1, 2], [0, Math.log(3)]);
    const g = Tensor.from([1, 2], [1, 0]);
    const s = new Softmax();
    s.forward(x);
    const ds = s.backward(g); // Σ G y = 1/4 -> [1/4 · 3/4, 3/4 · -1/4]
    expect(ds.data[0]).toBeCloseTo(3 / 16, 6);
    expect(ds.data[1]).toBeCloseTo(-3 / 16, 6);
    const l = new LogSoftmax();
    l.forward(x);
    const dl = l.backward(g); // Σ G = 1 -> [1 - 1/4, -3/4]
    expect(dl.data[0]).toBeCloseTo(0.75, 6);
    expect(dl.data[1]).toBeCloseTo(-0.75, 6);
  });

  it('stays finite for logits near ±1000', () => {
    const x = Tensor.from([1, 5], [1000, 0, -1000, 5, 500]);
    const y = new Softmax().forward(x);
    expect([...y.data]).toEqual([1, 0, 0, 0, 0]);
    const l = new LogSoftmax().forward(x);
    expect(l.data[0]).toBe(0);
    expect(l.data[2]).toBe(-2000);
  });

  it('runs along any dim, negative dims counting from the end', () => {
    const x = Tensor.from([2, 2], [0, 0, Math.log(3), 0]);
    const d0 = new Softmax(0).forward(x).data; // columns
    expect(d0[0]).toBeCloseTo(0.25, 6);
    expect(d0[2]).toBeCloseTo(0.75, 6);
    expect(d0[1]).toBeCloseTo(0.5, 6);
    const dm1 = new Softmax(-1).forward(x).data; // rows
    expect(dm1[2]).toBeCloseTo(0.75, 6);
    expect(dm1[0]).toBeCloseTo(0.5, 6);
  });
});

describe('Softmax / LogSoftmax against the PyTorch oracle (test/fixtures, scripts/oracle/gen_extra.py)', () => {
  it('every case of softmax.json (logits near 1000, spreads of ±1000, equal logits; both ops)', () => {
    const cases = loadFixture('softmax.json');
    expect(new Set(cases.map((c) => c.op))).toEqual(new Set(['softmax', 'log_softmax']));
    forEachCase(cases, (c) => checkOracleCase(fromCase(c), c));
  });
  it('every case of softmax_extra.json (other dims)', () => {
    forEachCase(loadFixture('softmax_extra.json'), (c) => checkOracleCase(fromCase(c), c));
  });
  it.skipIf(!hasSharedOracle('softmax.json'))('shared oracle (optional, ../shared/oracle/softmax.json): every case', () => {
    forEachCase(loadSharedOracle('softmax.json'), (c) => checkOracleCase(fromCase(c), c));
  });
});

describe('Softmax / LogSoftmax gradient check', () => {
  const configs: [number, number[]][] = [[1, [3, 6]], [0, [4, 3]], [-1, [2, 3, 4]], [1, [2, 3, 2, 2]], [-3, [2, 3, 2, 2]]];
  for (const [dim, shape] of configs) {
    for (const L of [Softmax, LogSoftmax]) {
      it(`${L.name} dim ${dim} over [${shape}]`, () => {
        const rng = new Rng(8);
        gradCheck(new L(dim), randomTensor(shape, rng, -3, 3), { eps: 1e-2, tol: { rtol: 2e-3, atol: 2e-4 } });
      });
    }
  }
});

describe('Softmax / LogSoftmax configuration and shapes', () => {
  it('defaults to dim 1 and round-trips specs', () => {
    expect(new Softmax().spec()).toEqual({ type: 'Softmax', dim: 1 });
    expect(buildLayer({ type: 'LogSoftmax', dim: -1 }).spec()).toEqual({ type: 'LogSoftmax', dim: -1 });
    expect(buildLayer({ type: 'Softmax' })).toBeInstanceOf(Softmax);
  });

  it('rejects a non-integer dim at construction and an out-of-range dim for the input', () => {
    expect(() => new Softmax(0.5)).toThrow(ConfigError);
    expect(() => new LogSoftmax(0.5)).toThrow('LogSoftmax: dim must be an integer, got 0.5');
    expect(() => new Softmax(2).forward(Tensor.zeros([2, 3]))).toThrow(ShapeError);
    expect(() => new Softmax(2).forward(Tensor.zeros([2, 3]))).toThrow('Softmax: dim 2 is out of range for input [2, 3] (rank 2)');
    expect(() => new LogSoftmax(-3).outputShape([2, 3])).toThrow(/dim -3 is out of range/);
  });

  it('rejects backward before forward and a dout of the wrong shape', () => {
    const s = new Softmax();
    expect(() => s.backward(Tensor.zeros([2, 3]))).toThrow('Softmax: backward called before forward');
    s.forward(Tensor.zeros([2, 3]));
    expect(() => s.backward(Tensor.zeros([3, 2]))).toThrow('Softmax: dout must be [2, 3], but got [3, 2]');
  });
});
