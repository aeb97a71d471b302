// What the photo scripts share: a checkout's preprocessing loaded by path (to compare checkouts
// on the same pictures), and a weights file's model as the classifier mnist-predict gives it.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classify } from '../../src/cli/predict.ts';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import type { Preprocessed } from '../../src/data/image.ts';
import type { RgbaImage } from '../../src/data/image-io.ts';

export type Preprocess = (img: RgbaImage, options?: object) => Preprocessed;

/** preprocessImage of the module at `path` (a checkout's src/data/image.ts). */
export async function importPipeline(path: string): Promise<Preprocess> {
  return ((await import(pathToFileURL(resolve(path)).href)) as { preprocessImage: Preprocess }).preprocessImage;
}

/** The model of a weights file: its probabilities for 28×28 pixels, and the digit it reads. */
export function modelReader(weights: string): { classify: (px: Uint8Array) => Float32Array; digit: (px: Uint8Array) => number } {
  const { file, model } = readWeightsFile(weights);
  const probs = (px: Uint8Array) => classify(model, px, file.input.mean, file.input.std);
  return {
    classify: probs,
    digit: (px) => argmax(probs(px)),
  };
}

/** The index of the largest value: the digit a model's probabilities read. */
export function argmax(p: Float32Array): number {
  return p.indexOf(Math.max(...p));
}
