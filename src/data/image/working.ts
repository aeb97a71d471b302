// The working copy of a picture: alpha composited, block-averaged to a bounded size, r/g/b/luma in 0..1.
import type { RgbaImage } from '../image-io.ts';

/** Rec. 601 luma weights. */
export const LR = 0.299, LG = 0.587, LB = 0.114;

export interface Working {
  w: number;
  h: number;
  /** Source pixels per working pixel along each axis. */
  k: number;
  r: Float32Array;
  g: Float32Array;
  b: Float32Array;
  lum: Float32Array;
}

/** Composites alpha onto `color` and block-averages to at most maxSide pixels a side: r, g, b, luma in 0..1. */
export function toWorking(img: RgbaImage, color: [number, number, number], maxSide: number): Working {
  const k = Math.max(1, Math.ceil(Math.max(img.width, img.height) / maxSide));
  const w = Math.ceil(img.width / k), h = Math.ceil(img.height / k);
  const r = new Float32Array(w * h), g = new Float32Array(w * h), b = new Float32Array(w * h), cnt = new Float32Array(w * h);
  const d = img.data;
  const [cr, cg, cb] = color;
  const col = new Int32Array(img.width);
  for (let x = 0; x < img.width; x++) col[x] = Math.floor(x / k);
  for (let y = 0; y < img.height; y++) {
    const row = Math.floor(y / k) * w;
    for (let x = 0, p = y * img.width * 4; x < img.width; x++, p += 4) {
      const j = row + col[x];
      const a = d[p + 3] * (1 / 255);
      const ia = 1 - a;
      r[j] += a * d[p] * (1 / 255) + ia * cr;
      g[j] += a * d[p + 1] * (1 / 255) + ia * cg;
      b[j] += a * d[p + 2] * (1 / 255) + ia * cb;
      cnt[j]++;
    }
  }
  const lum = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    r[i] /= cnt[i];
    g[i] /= cnt[i];
    b[i] /= cnt[i];
    lum[i] = LR * r[i] + LG * g[i] + LB * b[i];
  }
  return { w, h, k, r, g, b, lum };
}
