// Turns an arbitrary picture of a digit into a 28×28 MNIST-style image, the way MNIST was made:
// light ink on black, digit fitted to a 20×20 box, centre of mass at the centre. Pure code.
import type { RgbaImage } from '../image-io.ts';
import { inkWarnings } from '../ink-shape.ts';
import { readPicture } from './alpha.ts';
import { preprocessCrop } from './crop.ts';
import { closeMask, judgeEdges, judgeRegions, judgeSurroundings, settlePolarity } from './candidates.ts';
import { blur3 } from './filters.ts';
import { fitInk, fitMargin, sourceBox } from './fit.ts';
import { removePrintedLines } from './lines.ts';
import { localMedian, paperGrid, paperLevels, paperRadius } from './paper.ts';
import { groupAround, labelRegions, unionBox, type Labels, type Region } from './regions.ts';
import { stageDone } from './stages.ts';
import { clamp01, mad, median, quantile, round2 } from './stats.ts';
import type { Candidate, PreprocessInfo, PreprocessOptions, Preprocessed } from './types.ts';
import { LB, LG, LR, opaqueLuma } from './working.ts';

/** One ink-strength map: darker than the paper, lighter than it, or different in colour. */
interface InkMap {
  s: Float32Array;
  /** true: dark ink, false: light ink, undefined: colour. */
  dark: boolean | undefined;
  /** Noise threshold. */
  t: number;
  lb: Labels;
}

interface Seed { map: InkMap; region: Region; score: number }

/** A candidate fitted to 28×28, or why it could not be. */
interface Finished { pixels?: Uint8Array; reason?: string; box?: PreprocessInfo['box']; stroke?: number; strokeAdjusted?: number; contrast: number; warnings?: string[] }

/** The mask grown by one pixel (a 3×3 square). */
function grow3(m: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) out[yy * w + xx] = 1;
    }
  }
  return out;
}

// The per-pixel loops of preprocessImage, each a function of its own: a CLI reads one picture per
// process, so each loop runs once, mostly before V8 has compiled it, and V8 compiles a running
// loop on the stack (OSR); in one large function, code after that loop has not run yet and
// throws the compiled code away when reached, and the large function is slow to compile.

/** How far each pixel is darker (`dark`) and lighter (`light`) than the paper, in proportion to it. */
function inkStrength(lum: Float32Array, close: Float32Array, open: Float32Array, dark: Float32Array, light: Float32Array): void {
  for (let i = 0; i < lum.length; i++) {
    dark[i] = (close[i] - lum[i]) / Math.max(close[i], 0.04);
    light[i] = (lum[i] - open[i]) / (open[i] + 0.05);
  }
}

/** 1 where `s` is above `t`. */
function above(s: Float32Array, t: number): Uint8Array {
  const mask = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) mask[i] = s[i] > t ? 1 : 0;
  return mask;
}

function maxOf(s: Float32Array): number {
  let m = 0;
  for (let i = 0; i < s.length; i++) if (s[i] > m) m = s[i];
  return m;
}

type Box = { x0: number; y0: number; x1: number; y1: number };

/** The group's strong core within its box: the values of `s` over the group (`inGroup[label + 1]`) at half its peak or more. */
function groupCore(label: Int32Array, inGroup: Uint8Array, s: Float32Array, w: number, g: Box): Float32Array {
  let pk = 0;
  for (let y = g.y0; y < g.y1; y++) for (let i = y * w + g.x0; i < y * w + g.x1; i++) if (inGroup[label[i] + 1] && s[i] > pk) pk = s[i];
  let nCore = 0;
  for (let y = g.y0; y < g.y1; y++) for (let i = y * w + g.x0; i < y * w + g.x1; i++) if (inGroup[label[i] + 1] && s[i] >= 0.5 * pk) nCore++;
  const core = new Float32Array(nCore);
  for (let y = g.y0, j = 0; y < g.y1; y++) for (let i = y * w + g.x0; i < y * w + g.x1; i++) if (inGroup[label[i] + 1] && s[i] >= 0.5 * pk) core[j++] = s[i];
  return core;
}

/** The group's pixels above lo set in `v` to their level between lo and hi and put on `stack`; returns how many. */
function groupSeeds(label: Int32Array, inGroup: Uint8Array, s: Float32Array, w: number, g: Box, lo: number, hi: number, v: Float32Array, stack: Int32Array): number {
  let sp = 0;
  for (let y = g.y0; y < g.y1; y++) {
    for (let i = y * w + g.x0; i < y * w + g.x1; i++) {
      if (inGroup[label[i] + 1] && s[i] > lo) {
        v[i] = clamp01((s[i] - lo) / (hi - lo));
        stack[sp++] = i;
      }
    }
  }
  return sp;
}

/**
 * Grows the ink `v` from the `count` pixels on `stack` (already set) through the faint pixels
 * 8-connected to it (above `lo`, up to the noise threshold `t`), each set to its level between
 * lo and hi; returns the box of the pixels taken from the stack, [x0, x1) × [y0, y1).
 */
function growInk(v: Float32Array, s: Float32Array, stack: Int32Array, count: number, w: number, h: number, lo: number, hi: number, t: number): Box {
  let x0 = w, y0 = h, x1 = 0, y1 = 0, sp = count;
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % w, y = (i - x) / w;
    if (x < x0) x0 = x;
    if (x >= x1) x1 = x + 1;
    if (y < y0) y0 = y;
    if (y >= y1) y1 = y + 1;
    for (let yy = y > 0 ? y - 1 : 0, ye = y < h - 1 ? y + 1 : y; yy <= ye; yy++) {
      for (let j = yy * w + (x > 0 ? x - 1 : 0), je = yy * w + (x < w - 1 ? x + 1 : x); j <= je; j++) {
        if (v[j] !== 0 || s[j] <= lo || s[j] > t) continue;
        v[j] = clamp01((s[j] - lo) / (hi - lo));
        stack[sp++] = j;
      }
    }
  }
  return { x0, y0, x1, y1 };
}

/** The fine pixels whose working pixel (`cellX`, `cellY`: -1 outside the cut-out) is set in `wide` (cw wide). */
function fineWanted(cellX: Int32Array, cellY: Int32Array, wide: Uint8Array, cw: number): Uint8Array {
  const fw = cellX.length, fh = cellY.length;
  const want = new Uint8Array(fw * fh);
  for (let Y = 0; Y < fh; Y++) {
    if (cellY[Y] < 0) continue;
    for (let X = 0; X < fw; X++) if (cellX[X] >= 0 && wide[cellY[Y] * cw + cellX[X]]) want[Y * fw + X] = 1;
  }
  return want;
}

/**
 * The ink strength of the fine pixels (`lumF`, fine blocks of f source pixels from (x0, y0)) whose
 * working pixel is set in `near`, against the working copy's `paper` level (w×h, k source pixels a
 * pixel) interpolated bilinearly; scaled between lo and hi as the working copy's ink was.
 */
function fineStrength(paper: Float32Array, w: number, h: number, k: number, dark: boolean, lumF: Float32Array,
  fine: { f: number; x0: number; y0: number; cellX: Int32Array; cellY: Int32Array; near: Uint8Array; cw: number }, lo: number, hi: number): Float32Array {
  const { f, x0, y0, cellX, cellY, near, cw } = fine;
  const fw = cellX.length, fh = cellY.length;
  const v = new Float32Array(fw * fh);
  for (let Y = 0; Y < fh; Y++) {
    const cy = cellY[Y];
    if (cy < 0) continue;
    const gy = Math.min(h - 1, Math.max(0, (y0 + (Y + 0.5) * f) / k - 0.5)), py = Math.min(h - 2, Math.floor(gy)), fy = gy - py;
    for (let X = 0; X < fw; X++) {
      const cx = cellX[X];
      if (cx < 0 || !near[cy * cw + cx]) continue;
      const gx = Math.min(w - 1, Math.max(0, (x0 + (X + 0.5) * f) / k - 0.5)), px = Math.min(w - 2, Math.floor(gx)), fx = gx - px;
      const i = py * w + px;
      const P = (paper[i] * (1 - fx) + paper[i + 1] * fx) * (1 - fy) + (paper[i + w] * (1 - fx) + paper[i + w + 1] * fx) * fy;
      const L = lumF[Y * fw + X];
      const sv = dark ? (P - L) / Math.max(P, 0.04) : (L - P) / (P + 0.05);
      if (sv > lo) v[Y * fw + X] = clamp01((sv - lo) / (hi - lo));
    }
  }
  return v;
}

/**
 * Converts a picture to the 28×28 input the model was trained on, or says why there is no digit.
 * Steps: alpha compositing → working resolution → local paper level (dark and light ink, or
 * colour) → printed lines removed → candidate regions judged → the digit (most ink, or the model's
 * most confident reading) → stroke width → area-averaged 20×20 → centre of mass.
 */
export function preprocessImage(img: RgbaImage, options: PreprocessOptions = {}): Preprocessed {
  // a small picture is a crop around the digit: the plain pipeline reads it as MNIST was made
  if (Math.max(img.width, img.height) < 256) return preprocessCrop(img, options);
  const { o, info, work: read } = readPicture(img, options);
  const fail = (reason: string): Preprocessed => ({ reason, info });
  if (!read) return fail('no digit found: the image is fully transparent');
  const work = read;
  stageDone('read');

  const { w, h, k } = work;
  const n = w * h;
  const minSide = Math.min(w, h);
  const big = Math.max(w, h) >= 256;
  info.background = clamp01(median(work.lum));
  // NOTE: a 3×3 blur on big images keeps paper texture and sensor noise from becoming ink
  const lum = big ? blur3(work.lum, w, h) : work.lum;

  // the paper's level around every pixel; ink is what departs from it, in proportion to it
  const grid = paperGrid(w, h);
  const { close, open } = paperLevels(lum, w, h, paperRadius(w, h));
  const dark = new Float32Array(n), light = new Float32Array(n);
  inkStrength(lum, close, open, dark, light);
  stageDone('paper');

  const maps: InkMap[] = [];
  let lines = { horizontal: 0, vertical: 0 };
  const regionsFor = (s: Float32Array, polarity: boolean | undefined): InkMap => {
    const m = median(s), sigma = mad(s) * 1.4826;
    const t = Math.max(m + 5 * sigma, m + 0.03);
    if (polarity === true) lines = removePrintedLines(s, w, h, Math.max(m + 3 * sigma, m + 0.02));
    const mask = above(s, t);
    // speckled chalk and grainy pencil: join the grains before counting regions
    const closed = big ? closeMask(mask, w, h, Math.max(1, Math.round(minSide / 250))) : mask;
    const lb = labelRegions(closed, s, w, h);
    judgeRegions(lb, w, h, minSide);
    judgeEdges(lb, [work.r, work.g, work.b], w, h);
    if (polarity !== undefined) judgeSurroundings(lb, lum, w, h, polarity);
    return { s, dark: polarity, t, lb };
  };
  maps.push(regionsFor(dark, true));
  stageDone('dark');
  maps.push(regionsFor(light, false));
  settlePolarity(maps[0].lb, maps[1].lb, lum, w, h);
  stageDone('light');
  // colour, when the ink differs from the paper in hue more than in brightness (red on grey):
  // looked at only when brightness shows no clear ink
  const bestContrast = Math.max(0, ...maps.flatMap((m) => m.lb.regions.filter((r) => !r.rejected).map((r) => r.mass / r.area)));
  if (bestContrast < 0.15) {
    const dist = colourDistance();
    if (dist) {
      info.signal = 'colour';
      maps.length = 0;
      maps.push(regionsFor(dist, undefined));
    }
  }

  const setAside: Record<string, number> = {};
  const seeds: Seed[] = [];
  let regionCount = 0, peak = 0;
  for (const map of maps) {
    peak = Math.max(peak, maxOf(map.s));
    for (const r of map.lb.regions) {
      regionCount++;
      if (r.rejected) {
        if (r.rejected !== 'a speck') setAside[r.rejected] = (setAside[r.rejected] ?? 0) + 1;
      } else seeds.push({ map, region: r, score: r.mass / Math.max(map.t, 1e-3) });
    }
  }
  if (Object.keys(setAside).length) info.setAside = setAside;
  if (seeds.length === 0) {
    if (regionCount === 0 && peak < 0.05) return fail('no digit found: the image is blank (one colour or a smooth gradient)');
    if (regionCount === 0) return fail('no digit found: the image is nearly uniform');
    const why = Object.entries(setAside).map(([r, c]) => `${c} ${r}`).join(', ');
    // a digit cut off by the frame is set aside like a table's edge: say what to do about it
    const edge = setAside['touches the edge of the picture'] ? '; a digit that runs off the picture is not read, so leave paper all round it' : '';
    return fail(why ? `no digit found: nothing that looks like ink (set aside: ${why})${edge}` : 'no digit found: only specks');
  }
  seeds.sort((a, b) => b.score - a.score);

  // candidate digits: the strongest seeds with the pieces around them
  const groups: { seed: Seed; ids: Set<number> }[] = [];
  for (const sd of seeds) {
    if (groups.length >= 3 || sd.score < 0.2 * seeds[0].score) break;
    if (groups.some((g) => g.seed.map === sd.map && g.ids.has(sd.region.id))) continue;
    groups.push({ seed: sd, ids: groupAround(sd.map.lb.regions, sd.region) });
  }
  // without the model to ask, only the first that yields a digit is needed
  const made: ReturnType<typeof finish>[] = [];
  for (const g of groups) {
    made.push(finish(g.seed.map, g.ids));
    if (!o.classify && made[made.length - 1].pixels) break;
  }
  let pick = made.findIndex((m) => m.pixels);
  if (pick < 0) return fail(made[0].reason ?? 'no digit found');
  info.chosen = groups.length > 1 ? 'the most ink of the candidate regions' : 'the only region that looks like ink';
  if (o.classify && made.filter((m) => m.pixels).length > 1) {
    const cands: (Candidate & { at: number })[] = [];
    made.forEach((m, at) => {
      if (!m.pixels || !m.box) return;
      const p = o.classify!(m.pixels);
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
      cands.push({ at, box: m.box, dark: groups[at].seed.map.dark !== false, digit: best, confidence: round2(p[best]) });
    });
    cands.sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0));
    pick = cands[0].at;
    info.candidates = cands.map(({ at: _, ...c }) => c);
    info.chosen = `read with the most confidence (${Math.round((cands[0].confidence ?? 0) * 100)}%) of ${cands.length} candidate regions`;
  }
  // the candidates were compared as the working copy shows them; the one chosen is finished again
  // from a finer reading of the picture (the same digit, its stroke's shape less blurred)
  const fine = made[pick].finer?.();
  const res = fine ?? made[pick];
  const map = groups[pick].seed.map;
  info.signal = map.dark === undefined ? 'colour' : 'luminance';
  info.inverted = map.dark === true;
  info.contrast = res.contrast;
  info.box = res.box;
  info.stroke = res.stroke;
  info.strokeAdjusted = res.strokeAdjusted;
  if (res.warnings?.length) info.warnings = res.warnings;
  // another region of ink as strong as the chosen one, of the same kind, away from it
  const chosenSeed = groups[pick].seed;
  const rival = seeds.some((sd) => sd.map === chosenSeed.map && !groups[pick].ids.has(sd.region.id) && sd.score >= 0.5 * chosenSeed.score);
  if (rival && !info.warnings?.some((x) => x.startsWith('more than one digit?'))) {
    info.warnings = ['more than one digit? another region with as much ink lies beside the one read', ...(info.warnings ?? [])];
  }
  stageDone('finish');
  return res.pixels ? { pixels: res.pixels, info } : fail(res.reason ?? 'no digit found');

  /** Distance from the local paper colour, when it carries more of the ink than brightness does. */
  function colourDistance(): Float32Array | undefined {
    const med = [work.r, work.g, work.b].map((ch) => localMedian(big ? blur3(ch, w, h) : ch, w, h, grid));
    const dist = new Float32Array(n), rl = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const a = work.r[i] - med[0][i], b = work.g[i] - med[1][i], c = work.b[i] - med[2][i];
      rl[i] = LR * a + LG * b + LB * c;
      dist[i] = Math.sqrt((a * a + b * b + c * c) / 3);
    }
    const td = Math.max(4 * mad(dist) * 1.4826, 0.05);
    let sumL = 0, sumD = 0;
    for (let i = 0; i < n; i++) {
      if (dist[i] > td) {
        sumL += Math.abs(rl[i]);
        sumD += dist[i];
      }
    }
    return sumD > 0 && sumL < 0.5 * sumD ? dist : undefined;
  }

  /**
   * From one candidate group to the model's 28×28 input, worked on a cut-out around it; `finer`
   * does it again on the cut-out read finer from the picture (fineCut), undefined when that does
   * not apply or finds no digit.
   */
  function finish(map: InkMap, ids: Set<number>): Finished & { finer?: () => Finished | undefined } {
    const { s, t, lb } = map;
    const inGroup = new Uint8Array(lb.regions.length + 1);
    for (const id of ids) inGroup[id + 1] = 1;
    const g = unionBox([...ids].map((id) => lb.regions[id]));
    // the group's ink level: its strong core
    const hi = quantile(groupCore(lb.label, inGroup, s, w, g), 0.6);
    const lo = Math.min(Math.max(0.8 * t, 0.12 * hi), 0.5 * hi);
    // the group's ink, grown through the faint pixels around it (antialiased edges)
    const v = new Float32Array(n);
    const stack = new Int32Array(n);
    const sp = groupSeeds(lb.label, inGroup, s, w, g, lo, hi, v, stack);
    const u = growInk(v, s, stack, sp, w, h, lo, hi, t);
    if (u.x1 <= u.x0) return { reason: 'no digit found', contrast: hi };
    // the rest works on a cut-out with room for the stroke to grow
    const m = fitMargin(Math.max(u.x1 - u.x0, u.y1 - u.y0), o);
    const cx0 = Math.max(0, u.x0 - m), cy0 = Math.max(0, u.y0 - m), cw = Math.min(w, u.x1 + m) - cx0, ch = Math.min(h, u.y1 + m) - cy0;
    const cut = new Float32Array(cw * ch);
    for (let y = 0; y < ch; y++) cut.set(v.subarray((y + cy0) * w + cx0, (y + cy0) * w + cx0 + cw), y * cw);
    const warnings = inkWarnings(cut, cw, ch, { x: cx0, y: cy0, width: w, height: h });
    const speck = Math.max(3, 0.01 * Math.max(w, h));
    const kept = cut.slice(); // fitInk thickens `cut` in place
    const finer = (): Finished | undefined => {
      const fine = fineCut(map.dark, kept, cx0, cy0, cw, ch, lo, hi);
      const fit = fine && fitInk(fine.v, fine.w, fine.h, (speck * k) / fine.f, o);
      if (!fine || !fit?.pixels) return undefined;
      const x = fine.x0 + fit.box.x0 * fine.f, y = fine.y0 + fit.box.y0 * fine.f;
      const box = { x, y, width: Math.min(img.width, fine.x0 + fit.box.x1 * fine.f) - x, height: Math.min(img.height, fine.y0 + fit.box.y1 * fine.f) - y };
      return { pixels: fit.pixels, box, stroke: fit.stroke, strokeAdjusted: fit.strokeAdjusted, contrast: hi, warnings };
    };
    const fit = fitInk(cut, cw, ch, speck, o);
    if (!fit.pixels) return { reason: fit.reason, contrast: hi, finer };
    const box = { x0: fit.box.x0 + cx0, y0: fit.box.y0 + cy0, x1: fit.box.x1 + cx0, y1: fit.box.y1 + cy0 };
    return { pixels: fit.pixels, box: sourceBox(box, k, img.width, img.height), stroke: fit.stroke, strokeAdjusted: fit.strokeAdjusted, contrast: hi, warnings, finer };
  }

  /**
   * The cut-out read again from the picture itself, `finishScale` times finer than the working
   * copy (whole blocks of f source pixels): the working copy finds the digit, but at 400 px a
   * thin stroke is a pixel or two wide and its shape is blurred before it is fitted to 20×20.
   * The paper level is the working copy's, interpolated (it is smooth at a stroke's scale); the
   * ink kept is what lies within a working pixel of the ink the working copy kept (at half
   * strength or more: a faint edge grown along the paper is not to become ink). Only for
   * opaque pictures read by brightness; undefined when the working copy is already as fine.
   */
  function fineCut(dark: boolean | undefined, cut: Float32Array, cx0: number, cy0: number, cw: number, ch: number, lo: number, hi: number): { v: Float32Array; w: number; h: number; f: number; x0: number; y0: number } | undefined {
    if (dark === undefined || info.alpha !== 'none' || !(o.finishScale > 1)) return undefined;
    const f = Math.max(1, Math.round(k / o.finishScale));
    if (f >= 0.9 * k) return undefined;
    const x0 = Math.floor(cx0 * k), y0 = Math.floor(cy0 * k);
    const fw = Math.ceil((Math.min(img.width, Math.ceil((cx0 + cw) * k)) - x0) / f), fh = Math.ceil((Math.min(img.height, Math.ceil((cy0 + ch) * k)) - y0) / f);
    // the working copy's kept ink grown by a working pixel (near), and by one more (what the
    // 3×3 blur around those reads): the only parts of the picture read again
    const strong = new Uint8Array(cw * ch);
    for (let i = 0; i < strong.length; i++) strong[i] = cut[i] >= 0.5 ? 1 : 0;
    const near = grow3(strong, cw, ch), wide = grow3(near, cw, ch);
    // each fine pixel's working pixel within the cut-out (-1: outside it)
    const cellX = new Int32Array(fw), cellY = new Int32Array(fh);
    for (let X = 0; X < fw; X++) {
      const cx = Math.min(w - 1, Math.floor((x0 + (X + 0.5) * f) / k)) - cx0;
      cellX[X] = cx >= 0 && cx < cw ? cx : -1;
    }
    for (let Y = 0; Y < fh; Y++) {
      const cy = Math.min(h - 1, Math.floor((y0 + (Y + 0.5) * f) / k)) - cy0;
      cellY[Y] = cy >= 0 && cy < ch ? cy : -1;
    }
    const want = fineWanted(cellX, cellY, wide, cw);
    const raw = opaqueLuma(img, x0, y0, f, fw, fh, want);
    const lumF = big ? blur3(raw, fw, fh) : raw;
    const v = fineStrength(dark ? close : open, w, h, k, dark, lumF, { f, x0, y0, cellX, cellY, near, cw }, lo, hi);
    return { v, w: fw, h: fh, f, x0, y0 };
  }
}
