// Training-image augmentation: a random shift, rotation and scale (bilinear resampling) and the
// elastic distortion of Simard, Steinkraus & Platt (2003), drawn per sample from a seeded Rng.
import { ConfigError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';

export const AUGMENT_MODES = ['none', 'shift', 'affine', 'elastic'] as const;
export type AugmentMode = (typeof AUGMENT_MODES)[number];

/**
 * What each mode draws, per sample:
 *  shift    whole-pixel moves of up to SHIFT px on each axis (exact: no resampling blur)
 *  affine   rotation within ±ROTATE_DEG, scale within 1 ± SCALE, sub-pixel shift within ±SHIFT
 *  elastic  the affine draw plus a smooth random displacement field (Simard's alpha and sigma)
 */
export const AUGMENT = { SHIFT: 2, ROTATE_DEG: 12, SCALE: 0.1, ALPHA: 34, SIGMA: 4 } as const;

/**
 * A map from output pixel to source pixel: out(x, y) = src(c + R(-angle)((x, y) - c - shift) / scale),
 * c the image centre; so the image is scaled and rotated about its centre, then shifted.
 */
export interface Affine {
  /** Radians, counter-clockwise as seen on screen (y points down). */
  angle: number;
  scale: number;
  dx: number;
  dy: number;
}

export const IDENTITY: Affine = { angle: 0, scale: 1, dx: 0, dy: 0 };

/**
 * Bilinear sample of img (row-major [rows, cols]) at the real position (x, y), pixel centres at
 * integers; pixels outside the image count as 0 (background).
 */
export function bilinear(img: ArrayLike<number>, rows: number, cols: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (r: number, c: number) => (r >= 0 && r < rows && c >= 0 && c < cols ? img[r * cols + c] : 0);
  const top = at(y0, x0) * (1 - fx) + (fx === 0 ? 0 : at(y0, x0 + 1) * fx);
  if (fy === 0) return top;
  const bottom = at(y0 + 1, x0) * (1 - fx) + (fx === 0 ? 0 : at(y0 + 1, x0 + 1) * fx);
  return top * (1 - fy) + bottom * fy;
}

/**
 * Resamples src (row-major [rows, cols], values as given) through the affine map plus an optional
 * displacement field (field.dx/dy: [rows, cols], added to the source position) into out.
 */
export function warp(
  src: ArrayLike<number>,
  rows: number,
  cols: number,
  a: Affine,
  out: Float32Array,
  field?: { dx: Float32Array; dy: Float32Array },
): Float32Array {
  if (out.length < rows * cols) throw new ConfigError(`warp: out holds ${out.length} values, needs ${rows * cols}`);
  if (!(a.scale > 0)) throw new ConfigError(`warp: scale must be positive, got ${a.scale}`);
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  // inverse map: rotate by -angle and divide by the scale
  const cos = Math.cos(a.angle) / a.scale;
  const sin = Math.sin(a.angle) / a.scale;
  for (let y = 0; y < rows; y++) {
    const vy = y - cy - a.dy;
    for (let x = 0; x < cols; x++) {
      const vx = x - cx - a.dx;
      let sx = cx + cos * vx - sin * vy;
      let sy = cy + sin * vx + cos * vy;
      if (field) {
        sx += field.dx[y * cols + x];
        sy += field.dy[y * cols + x];
      }
      out[y * cols + x] = bilinear(src, rows, cols, sx, sy);
    }
  }
  return out;
}

/** A normalised 1-D Gaussian kernel of standard deviation sigma, cut at 3 sigma. */
export function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * In-place separable convolution of f ([rows, cols]) with kernel k, zeros beyond the border
 * (scipy's gaussian_filter with mode='constant'); tmp is scratch of the same size.
 */
export function blur(f: Float32Array, rows: number, cols: number, k: Float32Array, tmp: Float32Array): void {
  const r = (k.length - 1) / 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let s = 0;
      const lo = Math.max(0, x - r), hi = Math.min(cols - 1, x + r);
      for (let i = lo; i <= hi; i++) s += f[y * cols + i] * k[i - x + r];
      tmp[y * cols + x] = s;
    }
  }
  for (let y = 0; y < rows; y++) {
    const lo = Math.max(0, y - r), hi = Math.min(rows - 1, y + r);
    for (let x = 0; x < cols; x++) {
      let s = 0;
      for (let i = lo; i <= hi; i++) s += tmp[i * cols + x] * k[i - y + r];
      f[y * cols + x] = s;
    }
  }
}

/**
 * Simard's elastic field: uniform(-1, 1) per pixel and axis, smoothed by a Gaussian of sigma px,
 * times alpha px. Written into field.dx/dy.
 */
export function elasticField(rng: Rng, rows: number, cols: number, alpha: number, k: Float32Array, field: { dx: Float32Array; dy: Float32Array }, tmp: Float32Array): void {
  for (const f of [field.dx, field.dy]) {
    for (let i = 0; i < rows * cols; i++) f[i] = rng.uniform(-1, 1);
    blur(f, rows, cols, k, tmp);
    for (let i = 0; i < rows * cols; i++) f[i] *= alpha;
  }
}

/** One 32-bit seed per (epoch key, position in the epoch): each sample gets its own draws. */
export function sampleSeed(epochKey: number, position: number): number {
  let z = (epochKey ^ Math.imul(position + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds an Rng state (four words) into one epoch key. */
export function epochKey(state: readonly number[]): number {
  let k = 0x2545f491;
  for (const w of state) k = sampleSeed(k, w >>> 0);
  return k;
}

/** Applies one mode to single images; holds the scratch buffers so a batch allocates nothing. */
export class Augmenter {
  private readonly src: Float32Array;
  private readonly field?: { dx: Float32Array; dy: Float32Array };
  private readonly tmp: Float32Array;
  private readonly kernel: Float32Array;
  private readonly rng = new Rng(0);

  constructor(readonly mode: AugmentMode, readonly rows: number, readonly cols: number) {
    if (!AUGMENT_MODES.includes(mode)) throw new ConfigError(`augment: unknown mode ${JSON.stringify(mode)}`, `one of ${AUGMENT_MODES.join(', ')}`);
    const n = rows * cols;
    this.src = new Float32Array(n);
    this.tmp = new Float32Array(n);
    this.kernel = gaussianKernel(AUGMENT.SIGMA);
    if (mode === 'elastic') this.field = { dx: new Float32Array(n), dy: new Float32Array(n) };
  }

  /** The transform the mode draws from rng (consumes its draws in a fixed order). */
  drawAffine(rng: Rng): Affine {
    const { SHIFT, ROTATE_DEG, SCALE } = AUGMENT;
    if (this.mode === 'none') return IDENTITY;
    if (this.mode === 'shift') return { angle: 0, scale: 1, dx: rng.int(2 * SHIFT + 1) - SHIFT, dy: rng.int(2 * SHIFT + 1) - SHIFT };
    const angle = (rng.uniform(-ROTATE_DEG, ROTATE_DEG) * Math.PI) / 180;
    const scale = rng.uniform(1 - SCALE, 1 + SCALE);
    return { angle, scale, dx: rng.uniform(-SHIFT, SHIFT), dy: rng.uniform(-SHIFT, SHIFT) };
  }

  /**
   * Augments one uint8 image (0..255) into out as intensities 0..1; the draws come from a
   * fresh sequence seeded by `seed`, so the result depends on the seed alone.
   */
  apply(pixels: Uint8Array, seed: number, out: Float32Array): Float32Array {
    const n = this.rows * this.cols;
    const src = this.src;
    for (let i = 0; i < n; i++) src[i] = pixels[i] / 255;
    if (this.mode === 'none') {
      out.set(src.subarray(0, n));
      return out;
    }
    this.rng.reseed(seed);
    const a = this.drawAffine(this.rng);
    if (this.field) elasticField(this.rng, this.rows, this.cols, AUGMENT.ALPHA, this.kernel, this.field, this.tmp);
    return warp(src, this.rows, this.cols, a, out, this.field);
  }
}

/** One training image as stored and as the augmentation could draw it, intensities 0..1. */
export interface AugmentShowcase {
  index: number;
  label: number;
  stored: Float32Array;
  drawn: Float32Array[];
}

/**
 * The first `images` images of a split, each with `draws` augmented versions, for people to look
 * at (--show-augment, the report page). The draws depend on the seed alone, from a key of their
 * own (seed + 1): not the training epochs' own draws, but the same distribution.
 */
export function augmentShowcase(
  split: { images: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number },
  mode: AugmentMode,
  seed: number,
  images: number,
  draws: number,
): AugmentShowcase[] {
  const { rows, cols } = split;
  const px = rows * cols;
  const aug = new Augmenter(mode, rows, cols);
  const key = epochKey(new Rng(seed + 1).getState());
  const out: AugmentShowcase[] = [];
  for (let i = 0; i < Math.min(images, split.count); i++) {
    const pixels = split.images.subarray(i * px, (i + 1) * px);
    const drawn: Float32Array[] = [];
    for (let k = 1; k <= draws; k++) drawn.push(aug.apply(pixels, sampleSeed(key, k * 7919 + i), new Float32Array(px)));
    out.push({ index: i, label: split.labels[i], stored: Float32Array.from(pixels, (v) => v / 255), drawn });
  }
  return out;
}
