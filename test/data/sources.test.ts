import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/mnist.ts';
import { DATASETS, type DatasetSplits } from '../../src/data/sources.ts';

/** Mean and std of all training pixels scaled to [0, 1], via a 256-bin histogram (exact). */
function pixelStats(images: Uint8Array): { mean: number; std: number } {
  const hist = new Float64Array(256);
  for (let i = 0; i < images.length; i++) hist[images[i]]++;
  let s = 0;
  let s2 = 0;
  for (let v = 0; v < 256; v++) {
    s += hist[v] * (v / 255);
    s2 += hist[v] * (v / 255) ** 2;
  }
  const mean = s / images.length;
  return { mean, std: Math.sqrt(s2 / images.length - mean * mean) };
}

async function loadOffline(dataset: 'mnist' | 'fashion-mnist'): Promise<DatasetSplits> {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-src-'));
  try {
    return await loadDataset({ dataset, dataDir: dir, offline: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('DATASETS', () => {
  it('has the class names and MNIST statistics', () => {
    expect(DATASETS.mnist.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(DATASETS['fashion-mnist'].classes).toEqual([
      'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
    ]);
    expect([DATASETS.mnist.mean, DATASETS.mnist.std]).toEqual([0.1307, 0.3081]);
  });

  it('pins MNIST mean/std that match the training set', async () => {
    const { mean, std } = pixelStats((await loadOffline('mnist')).train.images);
    expect(mean.toFixed(4)).toBe(DATASETS.mnist.mean.toFixed(4));
    expect(std.toFixed(4)).toBe(DATASETS.mnist.std.toFixed(4));
  });

  const debian = DATASETS['fashion-mnist'].offlineDir()!;
  const present = existsSync(join(debian, 'train-images-idx3-ubyte.gz'));
  if (!present) console.warn(`SKIPPED Fashion-MNIST checks: ${debian} absent (apt install dataset-fashion-mnist)`);
  // Under CI a missing package is a failure, not a skip.
  it.skipIf(!present && process.env.CI !== 'true')(`loads Fashion-MNIST from ${debian} and recomputes its pinned mean/std`, async () => {
    const data = await loadOffline('fashion-mnist');
    expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
    expect(data.source).toBe(`Debian package dataset-fashion-mnist (${debian})`);
    // first training labels of Fashion-MNIST: Ankle boot, T-shirt/top, T-shirt/top, Dress, T-shirt/top
    expect([...data.train.labels.subarray(0, 5)]).toEqual([9, 0, 0, 3, 0]);
    const { mean, std } = pixelStats(data.train.images);
    expect(mean.toFixed(4)).toBe(DATASETS['fashion-mnist'].mean.toFixed(4));
    expect(std.toFixed(4)).toBe(DATASETS['fashion-mnist'].std.toFixed(4));
  });
});
