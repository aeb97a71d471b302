// What the pipeline is given (options) and what it says back (pixels, or a reason, and how it read the picture).

export interface PreprocessOptions {
  /** Longest side the image is reduced to (block averaging) before the analysis; bounds time and memory. */
  maxWorkingSide?: number;
  /**
   * Width (28×28 pixels, as strokeWidth() measures it) that thin strokes are brought up to. On
   * MNIST itself that measure has median 2.35 and 5th–95th percentiles 1.6–3.4; the defaults
   * were chosen by accuracy on a few thousand printed and drawn test pictures.
   */
  targetStroke?: number;
  /** Strokes thinner than this are thickened to targetStroke. */
  minStroke?: number;
  /** Strokes thicker than this are thinned down to it. */
  maxStroke?: number;
}

export interface Preprocessed {
  /** 28×28 grey pixels, 0 = background, 255 = ink; undefined when no digit was found. */
  pixels?: Uint8Array;
  /** Why no digit was found. */
  reason?: string;
  /** How the image was read, for --json and --show. */
  info: PreprocessInfo;
}

export interface PreprocessInfo {
  width: number;
  height: number;
  /** 'none': opaque; 'ink': transparent background, alpha outlines the ink; 'paper': opaque paper with transparent parts. */
  alpha: 'none' | 'ink' | 'paper';
  /** True when the ink was darker than the background (and so was inverted). */
  inverted: boolean;
  /** 'luminance' normally; 'colour' when ink and background differ in hue more than in brightness. */
  signal: 'luminance' | 'colour';
  /** Background and ink levels (0..1) before normalisation. */
  background: number;
  contrast: number;
  /** The digit's bounding box in source pixels. */
  box?: { x: number; y: number; width: number; height: number };
  /** Estimated stroke width at 28×28 before and after thickening/thinning. */
  stroke?: number;
  strokeAdjusted?: number;
}
