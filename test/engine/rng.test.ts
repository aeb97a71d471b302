import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('restores a saved state exactly', () => {
    const a = new Rng(3);
    a.next();
    const s = a.getState();
    const after = [a.next(), a.next()];
    const b = new Rng(99);
    b.setState(s);
    expect([b.next(), b.next()]).toEqual(after);
  });

  it('draws uniform values in [0, 1) with the right mean', () => {
    const r = new Rng(1);
    let sum = 0, outside = 0;
    for (let i = 0; i < 100000; i++) {
      const v = r.next();
      if (!(v >= 0 && v < 1)) outside++;
      sum += v;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100000 - 0.5)).toBeLessThan(0.01);
  });

  it('shuffles into a permutation', () => {
    const p = new Rng(5).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('reseed(s) restarts the sequence exactly as new Rng(s)', () => {
    const r = new Rng(5);
    for (let i = 0; i < 10; i++) r.nextU32();
    r.reseed(42);
    const fresh = new Rng(42);
    for (let i = 0; i < 100; i++) expect(r.nextU32()).toBe(fresh.nextU32());
  });
});
