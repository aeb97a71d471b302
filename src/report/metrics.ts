// Data for the --report page that evaluate() does not already give: the misclassified test
// digits with their pixels. Pure: arrays in, arrays out.

/** Images and labels of a split, as data/sources.ts's Split holds them. */
export interface LabelledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface Misclassified {
  /** Position in the split. */
  index: number;
  label: number;
  predicted: number;
  /** rows × cols grey bytes (a view into the split). */
  pixels: Uint8Array;
}

/** The first `limit` samples whose prediction differs from the label, and how many there are in all. */
export function collectMisclassified(split: LabelledImages, predictions: ArrayLike<number>, limit = 100): { items: Misclassified[]; total: number } {
  if (predictions.length !== split.count) {
    throw new RangeError(`collectMisclassified: ${predictions.length} predictions for ${split.count} images`);
  }
  const px = split.rows * split.cols;
  const items: Misclassified[] = [];
  let total = 0;
  for (let i = 0; i < split.count; i++) {
    if (predictions[i] === split.labels[i]) continue;
    total++;
    if (items.length < limit) {
      items.push({ index: i, label: split.labels[i], predicted: predictions[i], pixels: split.images.subarray(i * px, (i + 1) * px) });
    }
  }
  return { items, total };
}
