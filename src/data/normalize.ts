// The model's input normalisation, (pixel/255 − mean) / std, in one place: the training and test
// batches, mnist-predict, the reports and the live page all call it. No node: imports (the live
// page bundles it).
import { ConfigError } from '../engine/errors.ts';

/** Normalises images with one dataset's statistics (the weights file's `input.mean` and `input.std`). */
export class PixelNormalizer {
  /** Byte value v to (v/255 − mean)/std, worked out in double and rounded once to float32. */
  private readonly table = new Float32Array(256);

  constructor(readonly mean: number, readonly std: number) {
    if (!(std > 0)) throw new ConfigError(`normalize: std must be positive, got ${std}`);
    for (let v = 0; v < 256; v++) this.table[v] = (v / 255 - mean) / std;
  }

  /**
   * Writes the model's input for one or more images into `out` (default: a new array):
   * Uint8Array pixels are 0..255, Float32Array pixels are intensities in 0..1 (an augmented image).
   */
  apply(pixels: Uint8Array | Float32Array, out: Float32Array = new Float32Array(pixels.length)): Float32Array {
    if (pixels instanceof Uint8Array) {
      const t = this.table;
      for (let i = 0; i < pixels.length; i++) out[i] = t[pixels[i]];
    } else {
      const { mean, std } = this;
      for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] - mean) / std;
    }
    return out;
  }
}

/** One image normalised exactly as the training batches are (see PixelNormalizer.apply). */
export function normalizeImage(pixels: Uint8Array | Float32Array, mean: number, std: number, out?: Float32Array): Float32Array {
  return new PixelNormalizer(mean, std).apply(pixels, out);
}
