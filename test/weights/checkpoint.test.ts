import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import {
  CheckpointError, FORMAT, VERSION, float32ToShortest, readWeights, serializeWeights, stateDict, type WeightsFile,
} from '../../src/weights/checkpoint.ts';

describe('float32ToShortest', () => {
  it('round-trips every float32 exactly', () => {
    const rng = new Rng(11);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < 20000; i++) {
      u[0] = rng.nextU32();
      if (!Number.isFinite(f[0])) continue;
      const s = JSON.stringify(float32ToShortest(f[0]));
      expect(Math.fround(JSON.parse(s))).toBe(f[0]);
      expect(s.replace(/^-/, '').replace('.', '').replace(/e.*$/, '').replace(/^0+/, '').replace(/0+$/, '').length).toBeLessThanOrEqual(9);
    }
  });

  it('gives the fewest digits that read back (against counting up from 1), powers of two and weight-sized values included', () => {
    const fewest = (v: number): number => {
      for (let p = 1; p <= 9; p++) if (Math.fround(+v.toPrecision(p)) === v) return +v.toPrecision(p);
      throw new Error(`no 9-digit form for ${v}`);
    };
    const rng = new Rng(12);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const values: number[] = [];
    for (let e = -149; e <= 127; e++) values.push(2 ** e, -(2 ** e), Math.fround(2 ** e * 1.5));
    for (let i = 0; i < 20000; i++) values.push(Math.fround((rng.next() - 0.5) * 0.1), Math.fround(rng.next() * 10 ** (rng.int(12) - 6)));
    for (let i = 0; i < 20000; i++) {
      u[0] = rng.nextU32();
      if (Number.isFinite(f[0]) && f[0] !== 0) values.push(f[0]);
    }
    const wrong = values.filter((v) => !Object.is(float32ToShortest(v), fewest(v)));
    expect(wrong.slice(0, 5), `${wrong.length} of ${values.length} values`).toEqual([]);
  });

  it('writes short values briefly', () => {
    expect(float32ToShortest(Math.fround(0.1))).toBe(0.1);
    expect(float32ToShortest(0.5)).toBe(0.5);
    expect(float32ToShortest(-3)).toBe(-3);
    expect(() => float32ToShortest(NaN)).toThrow(CheckpointError);
  });
});

describe('weights file', () => {
  const specs = mlpSpecs([16], 784, 10);
  const model = buildModel(specs, new Rng(1));

  const file = (): WeightsFile => ({
    format: FORMAT, version: VERSION, createdAt: 'now',
    model: { name: 'mlp', layers: specs },
    input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 },
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    dataset: 'mnist', training: {}, metrics: [], state: stateDict(model),
  });

  it('serialises to JSON that restores identical parameters under state_dict keys', () => {
    const text = serializeWeights(file());
    const parsed = JSON.parse(text) as WeightsFile;
    expect(Object.keys(parsed.state)).toEqual(['1.weight', '1.bias', '3.weight', '3.bias']);
    expect(parsed.state['1.weight'].shape).toEqual([16, 784]);
    const other = readWeights(text).model;
    const a = model.namedParameters(), b = other.namedParameters();
    a.forEach((p, i) => expect(b[i].value.data).toEqual(p.value.data));
  });

  const refusal = (f: WeightsFile) => () => readWeights(serializeWeights(f));

  it('rejects a tensor whose shape does not fit the model, naming the key', () => {
    const f = file();
    f.state['3.weight'] = { shape: [10, 15], data: new Array(150).fill(0) };
    expect(refusal(f)).toThrow(/state\["3\.weight"\]\.shape: expected \[10, 16\]/);
  });

  it('rejects missing, extra and non-finite entries', () => {
    const f = file();
    delete (f.state as Record<string, unknown>)['1.bias'];
    expect(refusal(f)).toThrow(/1\.bias"\]: missing/);
    const g = file();
    g.state['9.weight'] = { shape: [1], data: [0] };
    expect(refusal(g)).toThrow(/9\.weight"\]: no such parameter/);
    const h = file();
    (h.state['3.bias'].data as unknown[])[2] = 'x';
    expect(refusal(h)).toThrow(/3\.bias"\]\.data\[2\]: expected a finite number/);
  });
});
