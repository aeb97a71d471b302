// What the pipeline is given (options) and what it says back (pixels, or a reason, and how it read the picture).

export interface PreprocessOptions {
  /**
   * Longest side the picture is reduced to (area averaging) before the analysis; bounds time and
   * memory. Default 400: a 12-megapixel photo is read in about 30–45 ms CPU once the code is
   * warm (the first picture a process reads, compiling included, about 300–400 ms), and with
   * finishScale the photo set (scripts/photos) is read about as well as at 640 pixels.
   */
  maxWorkingSide?: number;
  /**
   * How many times finer than the working copy the chosen region's cut-out is read again from
   * the picture before it is fitted to 28×28 (opaque pictures; 1: not read again). Default 1.6
   * (640/400): on the photo set, seed 1, 378/390 right instead of 377 (seed 2: 375 either way);
   * a few ms more on a warm 12 MP picture, 20–40 ms more on the first one in a process.
   */
  finishScale?: number;
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
  /**
   * The model, to settle between several plausible candidate regions: class probabilities for a
   * 28×28 input. The candidate read with the most confidence wins. Without it, the most ink wins.
   */
  classify?: (pixels: Uint8Array) => ArrayLike<number>;
}

/** One region that could have been the digit, for --json and --show. */
export interface Candidate {
  box: { x: number; y: number; width: number; height: number };
  /** Ink darker than the paper around it (false: lighter, as chalk). */
  dark: boolean;
  /** The model's reading of it, when it was asked. */
  digit?: number;
  confidence?: number;
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
  /** Doubts about the ink kept as the digit (ink-shape.ts): several digits, or not a digit. */
  warnings?: string[];
  /** Printed lines removed before the ink was segmented. */
  lines?: { horizontal: number; vertical: number };
  /** Regions set aside as not ink, by reason (an edge, a long line, a filled region...). */
  setAside?: Record<string, number>;
  /** The plausible candidates, the chosen one first, when there was more than one. */
  candidates?: Candidate[];
  /** Why the chosen region was chosen. */
  chosen?: string;
}
