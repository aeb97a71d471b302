// What transparent pixels are composited onto: the paper's colour, or the opposite of the ink's;
// and the picture's working copy made accordingly.
import type { RgbaImage } from '../image-io.ts';
import type { PreprocessInfo, PreprocessOptions } from './types.ts';
import { LB, LG, LR, opaqueWorking, toWorking, type Working } from './working.ts';

const DEFAULTS = { maxWorkingSide: 400, finishScale: 1.6, targetStroke: 2.6, minStroke: 2.0, maxStroke: 3.6 };

/**
 * Where both pipelines start: the options with their defaults, the info to report (alpha read),
 * and the working copy, none when the picture is fully transparent.
 */
export function readPicture(img: RgbaImage, options: PreprocessOptions): { o: typeof DEFAULTS & PreprocessOptions; info: PreprocessInfo; work?: Working } {
  const o = { ...DEFAULTS, ...options };
  const comp = composite(img, o.maxWorkingSide);
  const info: PreprocessInfo = { width: img.width, height: img.height, alpha: comp.alpha, inverted: false, signal: 'luminance', background: 0, contrast: 0 };
  return { o, info, work: comp.work };
}

/**
 * The picture's working copy (working.ts) and how its alpha was read; no copy when it is fully
 * transparent.
 */
export function composite(img: RgbaImage, maxSide: number): { work?: Working; alpha: PreprocessInfo['alpha'] } {
  const work = opaqueWorking(img, maxSide);
  if (work) return { work, alpha: 'none' };
  const comp = chooseComposite(img);
  return { work: comp.opaque === 0 ? undefined : toWorking(img, comp.color, maxSide), alpha: comp.alpha };
}

/**
 * Decides what transparent pixels are composited onto (see PreprocessInfo.alpha). `opaque` is
 * the alpha mass in pixels (0: fully transparent).
 */
export function chooseComposite(img: RgbaImage): { color: [number, number, number]; alpha: PreprocessInfo['alpha']; opaque: number } {
  const d = img.data;
  const n = img.width * img.height;
  // most pictures are opaque: say so after one quick look at the alpha channel
  let p = 3;
  while (p < d.length && d[p] === 255) p += 4;
  if (p >= d.length) return { color: [0, 0, 0], alpha: 'none', opaque: n };
  let translucent = 0, mass = 0, solid = 0;
  for (let p = 3; p < d.length; p += 4) {
    if (d[p] < 255) translucent++;
    if (d[p] >= 128) solid++;
    mass += d[p];
  }
  const opaque = mass / 255;
  if (translucent === 0) return { color: [0, 0, 0], alpha: 'none', opaque };
  if (mass === 0) return { color: [0, 0, 0], alpha: 'ink', opaque };
  // alpha-weighted colour histograms of the (mostly) opaque pixels; of all visible ones if none is
  // mostly opaque (a hairline on a small transparent canvas)
  const minAlpha = solid > 0 ? 128 : 1;
  const hr = new Float64Array(256), hg = new Float64Array(256), hb = new Float64Array(256);
  let weight = 0;
  for (let p = 0; p < d.length; p += 4) {
    const a = d[p + 3];
    if (a < minAlpha) continue;
    hr[d[p]] += a;
    hg[d[p + 1]] += a;
    hb[d[p + 2]] += a;
    weight += a;
  }
  const med: [number, number, number] = [histMedian(hr, weight) / 255, histMedian(hg, weight) / 255, histMedian(hb, weight) / 255];
  if (opaque >= 0.5 * n) return { color: med, alpha: 'paper', opaque };
  // Mostly transparent: the opaque pixels are the ink. Put it on the opposite of its brightness,
  // so black, white and coloured ink on a transparent canvas all stand out.
  const inkLum = LR * med[0] + LG * med[1] + LB * med[2];
  const bg = inkLum < 0.5 ? 1 : 0;
  return { color: [bg, bg, bg], alpha: 'ink', opaque };
}

function histMedian(hist: Float64Array, count: number): number {
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc * 2 >= count) return i;
  }
  return hist.length - 1;
}
