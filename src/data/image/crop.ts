// A small picture (under 256 pixels a side) is a crop around one digit, as MNIST's own are: one
// smooth background surface, global polarity, the largest ink and what lies near it. Pure code.
import type { RgbaImage } from '../image-io.ts';
import { inkWarnings } from '../ink-shape.ts';
import { readPicture } from './alpha.ts';
import { fitSurface, robustBackgroundMask } from './background.ts';
import { blur3 } from './filters.ts';
import { fitInk, sourceBox } from './fit.ts';
import { digitMask } from './ink.ts';
import { clamp01, mad, median, quantile } from './stats.ts';
import type { PreprocessOptions, Preprocessed } from './types.ts';
import { LB, LG, LR } from './working.ts';

/**
 * A crop to the model's 28×28 input, or why there is no digit. Steps: alpha compositing →
 * working resolution → background surface → polarity → contrast normalisation → digit
 * components → stroke width → area-averaged 20×20 → centre of mass.
 */
export function preprocessCrop(img: RgbaImage, options: PreprocessOptions = {}): Preprocessed {
  const { o, info, work } = readPicture(img, options);
  const fail = (reason: string): Preprocessed => ({ reason, info });
  if (!work) return fail('no digit found: the image is fully transparent');

  const { w, h, k } = work;
  const n = w * h;

  // background: a smooth surface per channel (handles uneven lighting in photos)
  const bgMask = robustBackgroundMask(work.lum, w, h);
  const res = [work.r, work.g, work.b].map((ch) => {
    const bg = fitSurface(ch, w, h, bgMask);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ch[i] - bg[i];
    return out;
  });
  const rl = new Float32Array(n);
  const dist = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = res[0][i], b = res[1][i], c = res[2][i];
    rl[i] = LR * a + LG * b + LB * c;
    dist[i] = Math.sqrt((a * a + b * b + c * c) / 3);
  }
  info.background = clamp01(median(work.lum));

  // polarity: the side of the background with more ink mass beyond the noise
  const sigmaL = mad(rl, bgMask) * 1.4826;
  const t = Math.max(4 * sigmaL, 0.02);
  let up = 0, down = 0;
  for (let i = 0; i < n; i++) {
    if (rl[i] > t) up += rl[i] - t;
    else if (rl[i] < -t) down += -rl[i] - t;
  }
  const sign = down > up ? -1 : 1;
  info.inverted = sign < 0;

  // luminance normally; colour distance when the ink differs from the paper mostly in hue
  const sigmaD = mad(dist, bgMask) * 1.4826;
  const td = Math.max(4 * sigmaD, 0.05);
  let sumL = 0, sumD = 0;
  for (let i = 0; i < n; i++) {
    if (dist[i] > td) {
      sumL += Math.max(0, sign * rl[i]);
      sumD += dist[i];
    }
  }
  let s: Float32Array;
  if (sumD > 0 && sumL < 0.5 * sumD) {
    info.signal = 'colour';
    info.inverted = false;
    s = dist;
  } else {
    s = rl;
    for (let i = 0; i < n; i++) s[i] = Math.max(0, sign * s[i]);
  }
  // NOTE: a 3×3 blur on big images keeps paper texture and sensor noise from becoming ink; at
  // 20/1000 scale it does not change the result.
  if (Math.max(w, h) >= 256) s = blur3(s, w, h);

  // contrast: noise floor and ink level
  const sigma = mad(s, bgMask) * 1.4826;
  let peak = 0;
  for (let i = 0; i < n; i++) if (s[i] > peak) peak = s[i];
  let nCore = 0;
  for (let i = 0; i < n; i++) if (s[i] >= 0.5 * peak) nCore++;
  const core = new Float32Array(nCore);
  for (let i = 0, j = 0; i < n; i++) if (s[i] >= 0.5 * peak) core[j++] = s[i];
  const hi = nCore ? quantile(core, 0.6) : 0;
  info.contrast = hi;
  if (hi < 0.005) return fail('no digit found: the image is blank (one colour or a smooth gradient)');
  if (hi < 0.04 || hi < 8 * sigma) return fail(`no digit found: the image is nearly uniform (contrast ${(hi * 100).toFixed(1)}%)`);
  const lo = Math.max(4 * sigma, 0.12 * hi);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = clamp01((s[i] - lo) / (hi - lo));

  // the digit: components of the ink, keeping the largest and whatever lies near it
  const keep = digitMask(v, w, h);
  if (!keep) return fail('no digit found');
  for (let i = 0; i < n; i++) if (!keep[i]) v[i] = 0;
  const doubts = inkWarnings(v, w, h);
  if (doubts.length) info.warnings = doubts;
  const fit = fitInk(v, w, h, Math.max(3, 0.01 * Math.max(w, h)), o);
  if (!fit.pixels) return fail(fit.reason);
  info.box = sourceBox(fit.box, k, img.width, img.height);
  info.stroke = fit.stroke;
  info.strokeAdjusted = fit.strokeAdjusted;
  return { pixels: fit.pixels, info };
}
