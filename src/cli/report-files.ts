// The HTML pages' side of the commands: write the --explain page for one picture (the page
// itself is built by src/report/); outputs are checked by safe-write.ts's claimOutputs.
import { readFileSync } from 'node:fs';
import { Tensor } from '../engine/tensor.ts';
import { decodeImage } from '../data/image-io.ts';
import { normalizeImage } from '../data/normalize.ts';
import { SIZE, preprocessImage } from '../data/image.ts';
import type { Sequential } from '../nn/sequential.ts';
import { explainHtml, originalImage } from '../report/explain-page.ts';
import type { WeightsFile } from '../weights/checkpoint.ts';
import { writeFileSafe } from './safe-write.ts';

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
  writeFileSafe(out, html, { label: `--explain ${out}` });
  return { predicted: explanation.predicted };
}
