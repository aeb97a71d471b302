// The worked arithmetic the live page shows on a click: the notes' hand-worked case, then every
// cell of real layers against the engine's own forward pass (groups, stride, dilation, padding).
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/engine/tensor.ts';
import { Conv2d } from '../../src/nn/conv2d.ts';
import { Linear } from '../../src/nn/linear.ts';
import { MaxPool2d } from '../../src/nn/max-pool2d.ts';
import { convCell, linearUnit, poolCell } from '../../src/live/worked.ts';
import { notesExample } from '../../examples/notes-example.ts';
import { Rng } from '../../src/engine/rng.ts';

function randomTensor(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-1, 1);
  return t;
}

describe('worked arithmetic', () => {
  it("reproduces the notes' top-left conv window: 7 + 10 + 7 = 24", () => {
    const { input } = notesExample();
    const conv = new Conv2d(1, 1, 3, { bias: false });
    conv.weight.value.data.set([0, 1, 2, 2, 2, 0, 0, 1, 2]);
    const w = convCell(conv, input, 0, 0, 0);
    expect([...w.channels[0].window]).toEqual([3, 3, 2, 2, 3, 2, 3, 3, 2]);
    expect([...w.channels[0].kernel]).toEqual([0, 1, 2, 2, 2, 0, 0, 1, 2]);
    expect([...w.channels[0].products]).toEqual([0, 3, 4, 4, 6, 0, 0, 3, 4]);
    expect(w.sum).toBe(24);
    expect(w.bias).toBe(0);
    expect(w.result).toBe(24);
  });

  it("marks the winner of the notes' padded max-pool window (-inf padding)", () => {
    const { conv } = notesExample();
    const pool = new MaxPool2d(2, { stride: 2, padding: 1 });
    const w = poolCell(pool, conv, 0, 1, 0);
    // window rows 1..2, cols -1..0 of [[24,18,8],[26,18,8],[28,18,8]]
    expect([...w.window]).toEqual([-Infinity, 26, -Infinity, 28]);
    expect(w.winner).toBe(3);
    expect(w.result).toBe(28);
  });

  for (const c of [
    { name: 'padding 1', cin: 3, cout: 4, k: 3, opts: { padding: 1 } },
    { name: "stride 2, dilation 2, 'valid'", cin: 2, cout: 2, k: 3, opts: { stride: 2, dilation: 2, padding: 'valid' as const } },
    { name: "groups 2, even kernel, 'same'", cin: 4, cout: 6, k: 2, opts: { groups: 2, padding: 'same' as const } },
  ]) {
    it(`gives sum + bias = the engine's conv output at every cell (${c.name})`, () => {
      const conv = new Conv2d(c.cin, c.cout, c.k, { ...c.opts, rng: new Rng(3) });
      const x = randomTensor([1, c.cin, 7, 6], 5);
      const y = conv.forward(x);
      const [, C, H, W] = y.shape;
      for (let oc = 0; oc < C; oc++) {
        for (let oy = 0; oy < H; oy++) {
          for (let ox = 0; ox < W; ox++) {
            const w = convCell(conv, x, oc, oy, ox);
            expect(w.channels.length).toBe(c.cin / ((c.opts as { groups?: number }).groups ?? 1));
            expect(w.channels.reduce((s, ch) => s + ch.sum, 0)).toBeCloseTo(w.sum, 12);
            expect(w.result).toBeCloseTo(y.data[(oc * H + oy) * W + ox], 5);
          }
        }
      }
    });
  }

  it("gives the engine's max-pool output at every cell", () => {
    const pool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const x = randomTensor([1, 2, 7, 7], 9);
    const y = pool.forward(x);
    const [, C, H, W] = y.shape;
    for (let c = 0; c < C; c++) for (let oy = 0; oy < H; oy++) for (let ox = 0; ox < W; ox++) {
      const w = poolCell(pool, x, c, oy, ox);
      expect(w.result).toBe(y.data[(c * H + oy) * W + ox]);
      expect(w.window[w.winner]).toBe(w.result);
    }
  });

  it("gives a Linear unit's output and its largest terms in order", () => {
    const lin = new Linear(20, 5, { rng: new Rng(4) });
    const x = randomTensor([1, 20], 6);
    const y = lin.forward(x);
    for (let u = 0; u < 5; u++) {
      const w = linearUnit(lin, x, u, 4);
      expect(w.result).toBeCloseTo(y.data[u], 5);
      expect(w.top.length).toBe(4);
      for (let i = 1; i < 4; i++) expect(Math.abs(w.top[i - 1].product)).toBeGreaterThanOrEqual(Math.abs(w.top[i].product));
      expect(w.top[0].product).toBeCloseTo(w.top[0].weight * w.top[0].input, 12);
    }
  });

  it('refuses a cell outside the output', () => {
    const conv = new Conv2d(1, 2, 3);
    const x = Tensor.zeros([1, 1, 5, 5]);
    expect(() => convCell(conv, x, 0, 3, 0)).toThrow(/no cell \(channel 0, row 3, col 0\) in an output of shape \[1, 2, 3, 3\]/);
    expect(() => convCell(conv, x, 2, 0, 0)).toThrow(RangeError);
    expect(() => linearUnit(new Linear(4, 2), Tensor.zeros([1, 3]), 0)).toThrow(/holds 3 values, the layer takes 4/);
  });
});
