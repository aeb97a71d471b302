// Robust statistics on pixel arrays: clamping, rounding, sampled median, quickselect quantile, MAD.

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Median of up to 16k evenly spaced values (plenty for a background level). */
export function median(a: ArrayLike<number>): number {
  return quantile(sampled(a), 0.5);
}

export function sampled(a: ArrayLike<number>, max = 16_384): Float32Array {
  const step = Math.max(1, Math.floor(a.length / max));
  const out = new Float32Array(Math.ceil(a.length / step));
  for (let i = 0, j = 0; i < a.length; i += step, j++) out[j] = a[i];
  return out;
}

/** The q-quantile by selection (Hoare's quickselect) on a copy: linear time. */
export function quantile(a: ArrayLike<number>, q: number): number {
  const n = a.length;
  if (n === 0) return 0;
  const s = Float32Array.from(a);
  const k = Math.min(n - 1, Math.max(0, Math.floor(q * (n - 1))));
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    const pivot = s[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (s[i] < pivot) i++;
      while (s[j] > pivot) j--;
      if (i <= j) {
        const t = s[i];
        s[i] = s[j];
        s[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return s[k];
}

/** Median absolute deviation from the median, on a sample of the pixels where `where` is set (all if none is). */
export function mad(a: Float32Array, where?: Uint8Array): number {
  let src: ArrayLike<number> = a;
  if (where) {
    let count = 0;
    for (let i = 0; i < where.length; i++) count += where[i];
    if (count > 0) {
      const picked = new Float32Array(count);
      for (let i = 0, j = 0; i < a.length; i++) if (where[i]) picked[j++] = a[i];
      src = picked;
    }
  }
  const sample = sampled(src);
  const m = quantile(sample, 0.5);
  for (let i = 0; i < sample.length; i++) sample[i] = Math.abs(sample[i] - m);
  return quantile(sample, 0.5);
}
