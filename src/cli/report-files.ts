// The HTML pages' side of the commands: check an output path before the work starts, and write
// the --explain page for one picture (the page itself is built by src/report/).
import { existsSync, readFileSync, statSync, accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MnistError } from '../engine/errors.ts';
import { Tensor } from '../engine/tensor.ts';
import { decodeImage } from '../data/image-io.ts';
import { normalizeImage } from '../data/batches.ts';
import { SIZE, preprocessImage } from '../data/image.ts';
import type { Sequential } from '../nn/sequential.ts';
import { explainHtml, originalImage } from '../report/explain-page.ts';
import type { WeightsFile } from '../weights/checkpoint.ts';
import { writeFileAtomic } from './files.ts';

export class OutputPathError extends MnistError {}

/** Throws unless a file can be written at `path`: not a directory, and its directory exists and is writable. */
export function checkOutputPath(path: string, flag: string): void {
  const abs = resolve(path);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new OutputPathError(`${flag} ${path}: is a directory, expected a file path`);
  const dir = dirname(abs);
  if (!existsSync(dir)) throw new OutputPathError(`${flag} ${path}: directory ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputPathError(`${flag} ${path}: directory ${dir} is not writable`);
  }
}

/**
 * Prepares the picture exactly as mnist-predict does, runs it through the model layer by layer
 * and writes the explain page to `out`. Returns the predicted class, or the reason no digit was found.
 */
export function writeExplainPage(
  out: string,
  imagePath: string,
  model: Sequential,
  weights: Pick<WeightsFile, 'input' | 'classes' | 'model'>,
  weightsPath: string,
): { predicted: number } | { noDigit: string } {
  const bytes = readFileSync(imagePath);
  const img = decodeImage(bytes);
  const pre = preprocessImage(img);
  if (!pre.pixels) return { noDigit: pre.reason ?? 'no digit found' };
  const x = new Tensor([1, 1, SIZE, SIZE], normalizeImage(pre.pixels, weights.input.mean, weights.input.std));
  const { html, explanation } = explainHtml(model, x, {
    source: imagePath,
    original: originalImage({ bytes, format: img.format, width: img.width, height: img.height, data: img.data }),
    classes: weights.classes,
    modelLabel: `${weights.model.name} from ${weightsPath}`,
  });
  writeFileAtomic(out, html);
  return { predicted: explanation.predicted };
}
