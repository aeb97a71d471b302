// Mini-batches: uint8 images stay in memory; each batch is normalized into a reused float32
// tensor x: [B, 1, rows, cols] with labels y: Int32Array [B].
import { ConfigError } from '../engine/errors.ts';
import { Augmenter, epochKey, sampleSeed, type AugmentMode } from './augment.ts';
import { PixelNormalizer } from './normalize.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor } from '../engine/tensor.ts';
import type { Split } from './sources.ts';

/** The first `limit` samples of a split (views, no copy); the whole split when limit is undefined. */
export function subset(split: Split, limit?: number): Split {
  if (limit === undefined || limit >= split.count) return split;
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`subset: limit must be a positive integer, got ${limit}`);
  const px = split.rows * split.cols;
  return { ...split, images: split.images.subarray(0, limit * px), labels: split.labels.subarray(0, limit), count: limit };
}

export interface Batch { x: Tensor; y: Int32Array; index: number }

/** Cuts a split into normalized mini-batches, in order or reshuffled each epoch by a seeded Rng. */
export class Batcher {
  readonly batchSize: number;
  private readonly norm: PixelNormalizer;
  private readonly order: Int32Array;
  // one buffer per distinct batch size (the full size and the last partial one)
  private readonly buffers = new Map<number, { x: Tensor; y: Int32Array }>();
  private readonly augmenter?: Augmenter;

  /** `augment`: applied to the epochs given an rng (training), never to in-order passes. */
  constructor(readonly split: Split, opts: { batchSize: number; mean: number; std: number; augment?: AugmentMode }) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new ConfigError(`Batcher: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.batchSize = opts.batchSize;
    this.norm = new PixelNormalizer(opts.mean, opts.std);
    this.order = new Int32Array(split.count);
    if (opts.augment && opts.augment !== 'none') this.augmenter = new Augmenter(opts.augment, split.rows, split.cols);
  }

  /** Samples per epoch. */
  get size(): number {
    return this.split.count;
  }

  /** Batches per epoch (the last partial batch counts). */
  count(): number {
    return Math.ceil(this.split.count / this.batchSize);
  }

  /**
   * One pass over the split. With an rng the order is a fresh shuffle of 0..N-1, so it depends only
   * on the rng state at the start of the epoch (a resumed run restores that state and gets the same
   * order). The yielded x and y are overwritten by the next batch of the same size.
   *
   * With augmentation, the sample at position i of the epoch is augmented from a seed made of
   * the rng state at the epoch's start and i: the same saved state that replays the order replays
   * the augmentation, whatever batches are skipped (`from`, a resumed epoch) or threads used.
   */
  *epoch(rng?: Rng, from = 0): Generator<Batch> {
    const { images, labels, count, rows, cols } = this.split;
    const px = rows * cols;
    const order = this.order;
    const norm = this.norm;
    const aug = rng ? this.augmenter : undefined;
    const key = aug && rng ? epochKey(rng.getState()) : 0;
    const view = aug ? new Float32Array(px) : undefined;
    for (let i = 0; i < count; i++) order[i] = i;
    if (rng) rng.shuffle(order);
    for (let index = from, start = from * this.batchSize; start < count; index++, start += this.batchSize) {
      const b = Math.min(this.batchSize, count - start);
      const { x, y } = this.buffer(b, rows, cols);
      const xd = x.data;
      for (let j = 0; j < b; j++) {
        const s = order[start + j];
        y[j] = labels[s];
        const image = images.subarray(s * px, (s + 1) * px);
        const dst = xd.subarray(j * px, (j + 1) * px);
        if (aug && view) norm.apply(aug.apply(image, sampleSeed(key, start + j), view), dst);
        else norm.apply(image, dst);
      }
      yield { x, y, index };
    }
  }

  private buffer(b: number, rows: number, cols: number): { x: Tensor; y: Int32Array } {
    let buf = this.buffers.get(b);
    if (!buf) this.buffers.set(b, (buf = { x: Tensor.zeros([b, 1, rows, cols]), y: new Int32Array(b) }));
    return buf;
  }
}
