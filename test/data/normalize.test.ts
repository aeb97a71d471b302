// PixelNormalizer / normalizeImage: (pixel/255 − mean)/std, worked by hand, the same float32 for
// bytes and for 0..1 intensities, and the same values the training batches hold.
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/data/batches.ts';
import { PixelNormalizer, normalizeImage } from '../../src/data/normalize.ts';
import { ConfigError } from '../../src/engine/errors.ts';

describe('normalizeImage', () => {
  it('maps bytes to (v/255 - mean)/std: 0, 51, 255 with mean 0.5, std 0.25 are -2, -1.2, 2', () => {
    const fromBytes = normalizeImage(Uint8Array.from([0, 51, 255]), 0.5, 0.25);
    expect([...fromBytes].map((v) => +v.toFixed(5))).toEqual([-2, -1.2, 2]);
    // MNIST's statistics: a black pixel is torchvision's -0.4242129
    expect(normalizeImage(Uint8Array.from([0]), 0.1307, 0.3081)[0]).toBeCloseTo(-0.424212917, 6);
  });

  it('gives 0..1 intensities the same float32 as the bytes they come from', () => {
    expect(normalizeImage(Float32Array.from([0, 0.2, 1]), 0.5, 0.25)).toEqual(normalizeImage(Uint8Array.from([0, 51, 255]), 0.5, 0.25));
  });

  it('writes into a given array (a batch row) and refuses a std that is not positive', () => {
    const out = new Float32Array(4);
    const row = out.subarray(2);
    expect(new PixelNormalizer(0, 1).apply(Uint8Array.from([255, 0]), row)).toBe(row);
    expect([...out]).toEqual([0, 0, 1, 0]);
    expect(() => normalizeImage(Uint8Array.from([1]), 0.1, 0)).toThrow(ConfigError);
  });

  it('is what the training batches hold, bit for bit', () => {
    const images = Uint8Array.from({ length: 2 * 784 }, (_, i) => (i * 37) % 256);
    const [{ x }] = [...new Batcher({ images, labels: Uint8Array.from([3, 4]), count: 2, rows: 28, cols: 28 }, { batchSize: 2, mean: 0.1307, std: 0.3081 }).epoch()];
    expect(x.data).toEqual(normalizeImage(images, 0.1307, 0.3081));
  });
});
