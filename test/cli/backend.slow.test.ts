// Each backend is deterministic: a fixed seed and thread count give bit-identical weights run to
// run (plain f32x4 mul + add in the wasm kernels, fixed summation order across threads).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-backend-'));
const load = (p: string) => JSON.parse(readFileSync(join(tmp, p), 'utf8'));

describe('a fixed seed and thread count are bit-identical run to run', () => {
  for (const backend of ['wasm', 'js']) {
    it(`on the ${backend} backend (CNN, 2 threads)`, () => {
      const args = ['--model', 'cnn', '--limit', '1280', '--test-limit', '200', '--epochs', '1', '--seed', '9', '--threads', '2', '--backend', backend, '--quiet'];
      expect(runBin('mnist-train', [...args, '--out', join(tmp, `${backend}-a.json`)]).code).toBe(0);
      expect(runBin('mnist-train', [...args, '--out', join(tmp, `${backend}-b.json`)]).code).toBe(0);
      const a = load(`${backend}-a.json`), b = load(`${backend}-b.json`);
      expect(a.training.backend).toBe(backend);
      expect(b.state).toEqual(a.state);
      expect(b.metrics.map((m: { trainLoss: number }) => m.trainLoss)).toEqual(a.metrics.map((m: { trainLoss: number }) => m.trainLoss));
    }, 240_000); // two CNN runs on the plain TypeScript kernels: a minute alone on a busy 2-core machine
  }

  it('the two backends agree closely but not bit for bit', () => {
    const a = load('wasm-a.json'), b = load('js-a.json');
    const wa = a.state['0.weight'] ?? Object.values(a.state)[0];
    const wb = b.state['0.weight'] ?? Object.values(b.state)[0];
    expect(JSON.stringify(wa)).not.toEqual(JSON.stringify(wb));
    expect(Math.abs(a.metrics[0].trainLoss - b.metrics[0].trainLoss)).toBeLessThan(0.05);
  });
});
