// mnist-train with a --data-dir of broken IDX files: one line naming the file and what is wrong,
// exit 1, before any training. (The wrong-magic case is in the fast suite, train.test.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDirWith, expectOneLineError, mnistFile, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-data-dir-test-'));

describe('mnist-train: a --data-dir with broken IDX files', () => {
  it('names a truncated file', () => {
    const b = mnistFile('train-images-idx3-ubyte');
    const dir = dataDirWith(tmp, { 'train-images-idx3-ubyte': b.subarray(0, b.length - 100) });
    expectOneLineError(runBin('mnist-train', ['--data-dir', dir, '--out', join(tmp, 'x.json')]), /train-images-idx3-ubyte.*(truncated|bytes)/);
  });

  it('names swapped images and labels files', () => {
    const dir = dataDirWith(tmp, { 't10k-images-idx3-ubyte': mnistFile('t10k-labels-idx1-ubyte'), 't10k-labels-idx1-ubyte': mnistFile('t10k-images-idx3-ubyte') });
    expectOneLineError(runBin('mnist-train', ['--data-dir', dir, '--out', join(tmp, 'x.json')]), /t10k-(images|labels)/);
  });

  it('refuses a training set of 0 images up front, before the model header', () => {
    const dir = dataDirWith(tmp, {
      'train-images-idx3-ubyte': Buffer.from([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]),
      'train-labels-idx1-ubyte': Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]),
    });
    const r = runBin('mnist-train', ['--data-dir', dir, '--out', join(tmp, 'zero.json')]);
    expectOneLineError(r, /train-images-idx3-ubyte holds 0 images: nothing to train on/);
    expect(r.stdout).not.toMatch(/model|Layer/);
  });

  it('reports a count mismatch between images and labels', () => {
    const b = mnistFile('t10k-labels-idx1-ubyte');
    b.writeUInt32BE(9999, 4);
    const dir = dataDirWith(tmp, { 't10k-labels-idx1-ubyte': b.subarray(0, 8 + 9999) });
    expectOneLineError(runBin('mnist-train', ['--data-dir', dir, '--out', join(tmp, 'x.json')]), /t10k.*(10000|9999)/);
  });
});
