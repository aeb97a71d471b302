// Photo-like pictures of one digit, deterministic by seed: real MNIST test digits and printed font
// glyphs (test/fixtures/photos/glyphs.json) on paper, notebooks, sticky notes, boards and tables,
// under shadows and glare, in pencil, ballpoint, marker and chalk, through a phone camera. Each
// scene records its digit and the digit's true box. Pure TypeScript (jpeg-js for the JPEG step).
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { Rng } from '../../src/engine/rng.ts';
import type { RgbaImage } from '../../src/data/image-io.ts';

export const CONDITIONS = [
  'clean', 'shadow', 'glare', 'ruled', 'grid', 'sticky', 'table',
  'pencil', 'hairline', 'marker', 'chalk', 'whiteboard', 'camera',
] as const;
export type Condition = (typeof CONDITIONS)[number];

/** Pictures with no digit at all: the pipeline must say "no digit found". */
export const EMPTY = ['blank', 'ruled-only', 'grid-only', 'shadow-only'] as const;
export type Empty = (typeof EMPTY)[number];

export interface Box { x: number; y: number; width: number; height: number }

export interface Scene {
  id: string;
  condition: Condition | Empty;
  source: 'mnist' | 'font' | 'none';
  /** The digit drawn, null on an empty page. */
  label: number | null;
  /** The MNIST test image it was drawn from (source 'mnist'). */
  mnist?: number;
  /** The digit's true box (pixels where its coverage is ≥ 0.5), after every camera effect. */
  box?: Box;
  image: RgbaImage;
}

/** Where digits come from: the MNIST test split (28×28 bytes, labels) and the font glyphs. */
export interface Sources {
  mnist: { images: Uint8Array; labels: Uint8Array; count: number };
  glyphs: Glyph[];
}

export interface Glyph { font: string; digit: number; width: number; height: number; data: Uint8Array }

/** The committed font glyph masks (made once by scripts/photos/glyphs.py). */
export function loadGlyphs(path = new URL('../../test/fixtures/photos/glyphs.json', import.meta.url)): Glyph[] {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { glyphs: { font: string; digit: number; width: number; height: number; data: string }[] };
  return j.glyphs.map((g) => ({ ...g, data: Uint8Array.from(Buffer.from(g.data, 'base64')) }));
}

/** The full set: `perCondition` pictures of each condition plus `perEmpty` of each empty page. */
export function makeSet(src: Sources, opts: { seed?: number; perCondition?: number; perEmpty?: number } = {}): Scene[] {
  const seed = opts.seed ?? 1, per = opts.perCondition ?? 30, perEmpty = opts.perEmpty ?? 5;
  const out: Scene[] = [];
  for (const c of CONDITIONS) for (let i = 0; i < per; i++) out.push(makeScene(src, c, i, seed));
  for (const e of EMPTY) for (let i = 0; i < perEmpty; i++) out.push(makeEmpty(e, i, seed));
  return out;
}

// ---- a float RGB canvas ----

class Canvas {
  readonly r: Float32Array;
  readonly g: Float32Array;
  readonly b: Float32Array;
  constructor(readonly w: number, readonly h: number) {
    this.r = new Float32Array(w * h);
    this.g = new Float32Array(w * h);
    this.b = new Float32Array(w * h);
  }
  fill(c: RGB): void {
    this.r.fill(c[0]);
    this.g.fill(c[1]);
    this.b.fill(c[2]);
  }
  /** Blends colour c in with per-pixel weight a(i) (0..1). */
  blend(c: RGB, a: (i: number) => number): void {
    for (let i = 0; i < this.r.length; i++) {
      const t = a(i);
      if (t <= 0) continue;
      this.r[i] += (c[0] - this.r[i]) * t;
      this.g[i] += (c[1] - this.g[i]) * t;
      this.b[i] += (c[2] - this.b[i]) * t;
    }
  }
  /** Multiplies every channel by f(i) (light and shadow). */
  light(f: (i: number) => number): void {
    for (let i = 0; i < this.r.length; i++) {
      const k = f(i);
      this.r[i] *= k;
      this.g[i] *= k;
      this.b[i] *= k;
    }
  }
  toRgba(): RgbaImage {
    const data = new Uint8Array(this.w * this.h * 4);
    for (let i = 0; i < this.r.length; i++) {
      data[4 * i] = byte(this.r[i]);
      data[4 * i + 1] = byte(this.g[i]);
      data[4 * i + 2] = byte(this.b[i]);
      data[4 * i + 3] = 255;
    }
    return { width: this.w, height: this.h, data };
  }
}

type RGB = [number, number, number];

const byte = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const smooth = (e0: number, e1: number, x: number) => {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
};

function gauss(rng: Rng): number {
  const u = Math.max(1e-12, rng.next()), v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

// ---- the digit's shape ----

/** Bilinear sample of a w×h byte image at (x, y) in pixel units (outside: 0), scaled to 0..1. */
function sample(src: Uint8Array, w: number, h: number, x: number, y: number): number {
  const x0 = Math.floor(x - 0.5), y0 = Math.floor(y - 0.5), fx = x - 0.5 - x0, fy = y - 0.5 - y0;
  return ((at(src, w, h, x0, y0) * (1 - fx) + at(src, w, h, x0 + 1, y0) * fx) * (1 - fy) + (at(src, w, h, x0, y0 + 1) * (1 - fx) + at(src, w, h, x0 + 1, y0 + 1) * fx) * fy) / 255;
}

// (module-level rather than a closure in `sample`: tsx names every closure it creates, per pixel)
function at(src: Uint8Array, w: number, h: number, x: number, y: number): number {
  return x < 0 || y < 0 || x >= w || y >= h ? 0 : src[y * w + x];
}

/** A digit as a coverage map `cov` (0..1) of cw×ch pixels whose ink is `height` pixels tall. */
interface Shape { cov: Float32Array; w: number; h: number }

/**
 * The source digit drawn `height` pixels tall, rotated by `angle` and sheared: a smooth-edged
 * coverage map. `pen` (pixels) redraws it as its skeleton traced with a round pen of that width.
 */
function drawShape(src: Uint8Array, sw: number, sh: number, inkTop: number, inkHeight: number, height: number, angle: number, shear: number, pen?: number): Shape {
  const s = height / inkHeight;
  const pad = Math.ceil(0.25 * height + (pen ?? 0));
  const w = Math.ceil(sw * s + 2 * pad), h = Math.ceil((inkHeight + 2) * s + 2 * pad);
  const cov = new Float32Array(w * h);
  const ca = Math.cos(angle), sa = Math.sin(angle);
  const cx = w / 2, cy = h / 2, scx = sw / 2, scy = inkTop + inkHeight / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const rx = (ca * dx + sa * dy) / s, ry = (-sa * dx + ca * dy) / s;
      const v = sample(src, sw, sh, scx + rx + shear * ry, scy + ry);
      cov[y * w + x] = smooth(0.3, 0.7, v);
    }
  }
  if (pen === undefined) return { cov, w, h };
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = cov[i] >= 0.5 ? 1 : 0;
  thin(mask, w, h);
  const d = chamfer(mask, w, h);
  for (let i = 0; i < cov.length; i++) cov[i] = clamp01(pen / 2 + 0.5 - d[i]);
  return { cov, w, h };
}

/** Zhang–Suen thinning in place: the one-pixel skeleton of a binary mask. */
function thin(m: Uint8Array, w: number, h: number): void {
  const del: number[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of [0, 1]) {
      del.length = 0;
      for (let y = 1; y < h - 1; y++) {
        for (let x = 1; x < w - 1; x++) {
          const i = y * w + x;
          if (!m[i]) continue;
          // the 8 neighbours clockwise from north
          const p0 = m[i - w], p1 = m[i - w + 1], p2 = m[i + 1], p3 = m[i + w + 1], p4 = m[i + w], p5 = m[i + w - 1], p6 = m[i - 1], p7 = m[i - w - 1];
          const b = p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7;
          if (b < 2 || b > 6) continue;
          // 0→1 transitions around the ring
          const a = +(!p0 && p1) + +(!p1 && p2) + +(!p2 && p3) + +(!p3 && p4) + +(!p4 && p5) + +(!p5 && p6) + +(!p6 && p7) + +(!p7 && p0);
          if (a !== 1) continue;
          if (step === 0 ? p0 * p2 * p4 || p2 * p4 * p6 : p0 * p2 * p6 || p0 * p4 * p6) continue;
          del.push(i);
        }
      }
      for (const i of del) m[i] = 0;
      if (del.length) changed = true;
    }
  }
}

/** Chamfer distance (pixels) to the nearest set pixel. */
function chamfer(m: Uint8Array, w: number, h: number): Float32Array {
  const d = new Float32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = m[i] ? 0 : 1e9;
  const D = Math.SQRT2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let v = d[i];
      if (x > 0) v = Math.min(v, d[i - 1] + 1);
      if (y > 0) {
        v = Math.min(v, d[i - w] + 1);
        if (x > 0) v = Math.min(v, d[i - w - 1] + D);
        if (x < w - 1) v = Math.min(v, d[i - w + 1] + D);
      }
      d[i] = v;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      let v = d[i];
      if (x < w - 1) v = Math.min(v, d[i + 1] + 1);
      if (y < h - 1) {
        v = Math.min(v, d[i + w] + 1);
        if (x < w - 1) v = Math.min(v, d[i + w + 1] + D);
        if (x > 0) v = Math.min(v, d[i + w - 1] + D);
      }
      d[i] = v;
    }
  }
  return d;
}

/** Box blur of radius r (pixels), separable, edges clamped. */
function boxBlur(a: Float32Array, w: number, h: number, r: number): Float32Array {
  if (r < 1) return a;
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += a[y * w + Math.min(w - 1, Math.max(0, x + k))];
      tmp[y * w + x] = s / n;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[Math.min(h - 1, Math.max(0, y + k)) * w + x];
      out[y * w + x] = s / n;
    }
  }
  return out;
}

/** Smooth random field (0..1) of roughly `cell`-pixel blobs: bilinear value noise. */
function valueNoise(rng: Rng, w: number, h: number, cell: number): Float32Array {
  const gw = Math.ceil(w / cell) + 2, gh = Math.ceil(h / cell) + 2;
  const g = new Float32Array(gw * gh);
  for (let i = 0; i < g.length; i++) g[i] = rng.next();
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const gy = y / cell, y0 = Math.floor(gy), fy = smooth(0, 1, gy - y0);
    for (let x = 0; x < w; x++) {
      const gx = x / cell, x0 = Math.floor(gx), fx = smooth(0, 1, gx - x0);
      const a = g[y0 * gw + x0], b = g[y0 * gw + x0 + 1], c = g[(y0 + 1) * gw + x0], d = g[(y0 + 1) * gw + x0 + 1];
      out[y * w + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  return out;
}

// ---- scenes ----

const PAPERS: RGB[] = [[0.96, 0.96, 0.95], [0.97, 0.95, 0.88], [0.9, 0.9, 0.88], [0.95, 0.93, 0.9]];
const PENS: RGB[] = [[0.08, 0.08, 0.1], [0.1, 0.15, 0.45], [0.15, 0.15, 0.2]];
const TABLES: RGB[] = [[0.45, 0.3, 0.18], [0.3, 0.22, 0.15], [0.2, 0.2, 0.22], [0.6, 0.45, 0.3]];
const NOTES: RGB[] = [[0.98, 0.92, 0.45], [0.98, 0.75, 0.8], [0.7, 0.93, 0.7], [0.7, 0.85, 0.98]];

interface Style {
  /** Pen width as a fraction of the digit's height; undefined: the source's own stroke. */
  pen?: number;
  ink: RGB;
  /** Ink opacity. */
  alpha: number;
  /** Blur radius of the ink's edge (bleed), in pixels. */
  bleed?: number;
  grain?: boolean;
  speckle?: boolean;
}

/** Draws one picture of `condition`; `index` and `seed` decide everything else. */
export function makeScene(src: Sources, condition: Condition, index: number, seed = 1): Scene {
  const rng = new Rng(hash(seed, CONDITIONS.indexOf(condition) + 1, index));
  const portrait = rng.next() < 0.4;
  const [w, h] = pick(rng, [[640, 480], [800, 600], [720, 540]] as const);
  const W = portrait ? h : w, H = portrait ? w : h;
  const cv = new Canvas(W, H);
  const minSide = Math.min(W, H);

  // the page and what is printed on it or lies around it
  let area: { x0: number; y0: number; x1: number; y1: number } = { x0: 0, y0: 0, x1: W, y1: H };
  let paper = pick(rng, PAPERS);
  cv.fill(paper);
  if (condition === 'table') area = drawTable(cv, rng);
  if (condition === 'ruled') drawRuled(cv, rng, minSide);
  if (condition === 'grid') drawGrid(cv, rng, minSide);
  if (condition === 'sticky') ({ area, paper } = drawSticky(cv, rng, minSide));
  if (condition === 'chalk') area = drawBoard(cv, rng);
  if (condition === 'whiteboard') cv.fill((paper = [0.93, 0.94, 0.95]));

  // the digit
  const fromFont = rng.next() < 0.25;
  let label: number, mnist: number | undefined, shapeSrc: { data: Uint8Array; w: number; h: number; top: number; inkH: number };
  if (fromFont) {
    const g = pick(rng, src.glyphs);
    label = g.digit;
    shapeSrc = { data: g.data, w: g.width, h: g.height, top: 0, inkH: g.height };
  } else {
    const i = (mnist = rng.int(src.mnist.count));
    label = src.mnist.labels[i];
    const img = src.mnist.images.subarray(i * 784, (i + 1) * 784);
    let top = 0, bottom = 27;
    while (top < 27 && rowEmpty(img, top)) top++;
    while (bottom > top && rowEmpty(img, bottom)) bottom--;
    shapeSrc = { data: img, w: 28, h: 28, top, inkH: bottom - top + 1 };
  }
  const areaMin = Math.min(area.x1 - area.x0, area.y1 - area.y0);
  const height = Math.round(rng.uniform(0.3, condition === 'sticky' ? 0.55 : 0.45) * areaMin);
  const style = inkStyle(condition, rng, height);
  const shape = drawShape(shapeSrc.data, shapeSrc.w, shapeSrc.h, shapeSrc.top, shapeSrc.inkH, height, rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), style.pen === undefined ? undefined : style.pen * height);
  let cov = shape.cov;
  if (style.bleed) cov = boxBlur(cov, shape.w, shape.h, style.bleed);
  if (style.grain || style.speckle) {
    const grain = valueNoise(rng, shape.w, shape.h, style.speckle ? Math.max(2, height / 60) : 1.5);
    for (let i = 0; i < cov.length; i++) cov[i] *= style.speckle ? smooth(0.3, 0.5, grain[i]) : 0.55 + 0.45 * grain[i];
  }
  const ox = Math.round(area.x0 + rng.uniform(0.1, 0.9) * (area.x1 - area.x0 - shape.w)), oy = Math.round(area.y0 + rng.uniform(0.1, 0.9) * (area.y1 - area.y0 - shape.h));
  const truth = new Float32Array(W * H);
  for (let y = 0; y < shape.h; y++) {
    for (let x = 0; x < shape.w; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && ty >= 0 && tx < W && ty < H) truth[ty * W + tx] = shape.cov[y * shape.w + x];
    }
  }
  const placed = new Float32Array(W * H);
  for (let y = 0; y < shape.h; y++) {
    for (let x = 0; x < shape.w; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && ty >= 0 && tx < W && ty < H) placed[ty * W + tx] = cov[y * shape.w + x];
    }
  }
  if (condition === 'chalk') cv.blend(style.ink, (i) => placed[i] * style.alpha);
  else inkOn(cv, style.ink, placed, style.alpha);

  // light
  const digitCentre = { x: ox + shape.w / 2, y: oy + shape.h / 2 };
  if (condition === 'shadow') shadow(cv, rng, digitCentre);
  else if (condition === 'glare' || condition === 'whiteboard') glare(cv, rng, digitCentre);
  else gradient(cv, rng);

  // the camera
  let box: Box | undefined;
  let image: RgbaImage;
  if (condition === 'camera') {
    const warped = camera(cv, truth, rng);
    box = boxOf(warped.truth, W, H);
    image = warped.image;
  } else {
    noise(cv, rng, 0.012);
    box = boxOf(truth, W, H);
    image = cv.toRgba();
  }
  return { id: `${condition}-${index}`, condition, source: fromFont ? 'font' : 'mnist', label, ...(mnist === undefined ? {} : { mnist }), box, image };
}

/** A page with nothing written on it. */
export function makeEmpty(kind: Empty, index: number, seed = 1): Scene {
  const rng = new Rng(hash(seed, 100 + EMPTY.indexOf(kind), index));
  const W = 640, H = 480;
  const cv = new Canvas(W, H);
  cv.fill(pick(rng, PAPERS));
  if (kind === 'ruled-only') drawRuled(cv, rng, H);
  if (kind === 'grid-only') drawGrid(cv, rng, H);
  if (kind === 'shadow-only') shadow(cv, rng, { x: W * rng.uniform(0.3, 0.7), y: H * rng.uniform(0.3, 0.7) });
  else gradient(cv, rng);
  noise(cv, rng, 0.012);
  return { id: `${kind}-${index}`, condition: kind, source: 'none', label: null, image: cv.toRgba() };
}

function hash(...xs: number[]): number {
  let hsh = 2166136261;
  for (const x of xs) hsh = Math.imul(hsh ^ x, 16777619) >>> 0;
  return hsh;
}

function rowEmpty(img: Uint8Array, y: number): boolean {
  for (let x = 0; x < 28; x++) if (img[y * 28 + x] > 60) return false;
  return true;
}

function inkStyle(condition: Condition, rng: Rng, height: number): Style {
  const pen = pick(rng, PENS);
  switch (condition) {
    case 'pencil': return { pen: rng.uniform(0.04, 0.07), ink: [0.35, 0.35, 0.37], alpha: rng.uniform(0.45, 0.7), grain: true };
    case 'hairline': return { pen: Math.max(1.5, rng.uniform(0.015, 0.03) * height) / height, ink: pick(rng, [[0.1, 0.15, 0.5], [0.1, 0.1, 0.12]] as RGB[]), alpha: rng.uniform(0.7, 0.95) };
    case 'marker': return { pen: rng.uniform(0.14, 0.2), ink: pick(rng, [[0.05, 0.05, 0.05], [0.1, 0.2, 0.6], [0.7, 0.1, 0.1]] as RGB[]), alpha: 0.95, bleed: Math.max(1, Math.round(height / 90)) };
    case 'chalk': return { pen: rng.uniform(0.07, 0.11), ink: [0.9, 0.9, 0.88], alpha: rng.uniform(0.7, 0.9), speckle: true };
    case 'whiteboard': return { pen: rng.uniform(0.07, 0.1), ink: pick(rng, [[0.1, 0.1, 0.12], [0.1, 0.25, 0.7], [0.75, 0.15, 0.15], [0.1, 0.5, 0.2]] as RGB[]), alpha: 0.9 };
    default: return { pen: rng.next() < 0.5 ? undefined : rng.uniform(0.06, 0.1), ink: pen, alpha: rng.uniform(0.85, 1) };
  }
}

/** Ink absorbs light: multiply the paper by the ink's colour where it lies. */
function inkOn(cv: Canvas, ink: RGB, cov: Float32Array, alpha: number): void {
  for (let i = 0; i < cov.length; i++) {
    const a = cov[i] * alpha;
    if (a <= 0) continue;
    cv.r[i] *= 1 - a + a * ink[0];
    cv.g[i] *= 1 - a + a * ink[1];
    cv.b[i] *= 1 - a + a * ink[2];
  }
}

/** Printed lines multiply too (ink under ink stays dark). */
function lineAt(cv: Canvas, colour: RGB, dist: (x: number, y: number) => number, width: number): void {
  for (let y = 0; y < cv.h; y++) {
    for (let x = 0; x < cv.w; x++) {
      const a = clamp01(width / 2 + 0.5 - Math.abs(dist(x + 0.5, y + 0.5)));
      if (a <= 0) continue;
      const i = y * cv.w + x;
      cv.r[i] *= 1 - a + a * colour[0];
      cv.g[i] *= 1 - a + a * colour[1];
      cv.b[i] *= 1 - a + a * colour[2];
    }
  }
}

function drawRuled(cv: Canvas, rng: Rng, minSide: number): void {
  const gap = rng.uniform(0.1, 0.16) * minSide, tilt = rng.uniform(-0.02, 0.02), width = rng.uniform(1.2, 2.5);
  const colour: RGB = pick(rng, [[0.55, 0.7, 0.92], [0.6, 0.75, 0.95], [0.7, 0.7, 0.75]] as RGB[]);
  const phase = rng.uniform(0, gap);
  lineAt(cv, colour, (x, y) => {
    const t = y - tilt * x - phase;
    return t - gap * Math.round(t / gap);
  }, width);
  if (rng.next() < 0.7) {
    const mx = rng.uniform(0.08, 0.2) * cv.w;
    lineAt(cv, [0.92, 0.45, 0.45], (x, y) => x + tilt * y - mx, rng.uniform(1.5, 3));
  }
}

function drawGrid(cv: Canvas, rng: Rng, minSide: number): void {
  const gap = rng.uniform(0.05, 0.09) * minSide, tilt = rng.uniform(-0.02, 0.02), width = rng.uniform(1, 2);
  const colour: RGB = pick(rng, [[0.6, 0.72, 0.9], [0.65, 0.65, 0.68], [0.6, 0.8, 0.7]] as RGB[]);
  const px = rng.uniform(0, gap), py = rng.uniform(0, gap);
  const mod = (t: number) => t - gap * Math.round(t / gap);
  lineAt(cv, colour, (x, y) => mod(y - tilt * x - py), width);
  lineAt(cv, colour, (x, y) => mod(x + tilt * y - px), width);
}

/** A table along one or two edges; returns the page's area. */
function drawTable(cv: Canvas, rng: Rng): { x0: number; y0: number; x1: number; y1: number } {
  const table = pick(rng, TABLES);
  const grain = valueNoise(rng, cv.w, cv.h, 6);
  const paperColour: RGB = [cv.r[0], cv.g[0], cv.b[0]];
  cv.fill(table);
  cv.light((i) => 0.85 + 0.3 * grain[i]);
  const m = () => rng.uniform(0.08, 0.22);
  const edges = { left: 0, top: 0, right: 0, bottom: 0 };
  const sides = ['left', 'top', 'right', 'bottom'] as const;
  edges[pick(rng, sides)] = m();
  if (rng.next() < 0.5) edges[pick(rng, sides)] = m();
  const x0 = edges.left * cv.w, y0 = edges.top * cv.h, x1 = cv.w * (1 - edges.right), y1 = cv.h * (1 - edges.bottom);
  const tilt = rng.uniform(-0.03, 0.03);
  cv.blend(paperColour, (i) => {
    const x = i % cv.w, y = (i - x) / cv.w;
    const xx = x + tilt * (y - cv.h / 2), yy = y - tilt * (x - cv.w / 2);
    return clamp01(Math.min(xx - x0, x1 - xx, yy - y0, y1 - yy) + 0.5);
  });
  return { x0: x0 + 0.04 * cv.w, y0: y0 + 0.04 * cv.h, x1: x1 - 0.04 * cv.w, y1: y1 - 0.04 * cv.h };
}

function drawSticky(cv: Canvas, rng: Rng, minSide: number): { area: { x0: number; y0: number; x1: number; y1: number }; paper: RGB } {
  if (rng.next() < 0.5) {
    cv.fill(pick(rng, TABLES));
  }
  const side = rng.uniform(0.5, 0.75) * minSide;
  const cx = rng.uniform(side / 2 + 10, cv.w - side / 2 - 10), cy = rng.uniform(side / 2 + 10, cv.h - side / 2 - 10);
  const a = rng.uniform(-0.12, 0.12), ca = Math.cos(a), sa = Math.sin(a);
  const note = pick(rng, NOTES);
  const inside = (x: number, y: number, grow: number) => {
    const dx = x - cx, dy = y - cy;
    const u = ca * dx + sa * dy, v = -sa * dx + ca * dy;
    return clamp01(Math.min(side / 2 + grow - Math.abs(u), side / 2 + grow - Math.abs(v)) + 0.5);
  };
  // a soft shadow under the note, then the note
  const off = rng.uniform(2, 5);
  cv.light((i) => {
    const x = i % cv.w, y = (i - x) / cv.w;
    return 1 - 0.25 * inside(x - off, y - off, 1) * (1 - inside(x, y, 0));
  });
  cv.blend(note, (i) => {
    const x = i % cv.w, y = (i - x) / cv.w;
    return inside(x, y, 0);
  });
  const half = (side / 2) * 0.8;
  return { area: { x0: cx - half, y0: cy - half, x1: cx + half, y1: cy + half }, paper: note };
}

/** A chalkboard, sometimes with its wooden frame along an edge; returns the writing area. */
function drawBoard(cv: Canvas, rng: Rng): { x0: number; y0: number; x1: number; y1: number } {
  const board: RGB = pick(rng, [[0.16, 0.26, 0.2], [0.12, 0.12, 0.13], [0.2, 0.28, 0.25]] as RGB[]);
  cv.fill(board);
  const smudge = valueNoise(rng, cv.w, cv.h, 40);
  cv.blend([0.8, 0.8, 0.8], (i) => 0.08 * smudge[i]);
  const area = { x0: 0, y0: 0, x1: cv.w, y1: cv.h };
  if (rng.next() < 0.6) {
    const t = rng.uniform(0.05, 0.12) * cv.h;
    const top = rng.next() < 0.5;
    cv.blend([0.55, 0.38, 0.22], (i) => {
      const y = Math.floor(i / cv.w);
      return top ? clamp01(t - y + 0.5) : clamp01(y - (cv.h - t) + 0.5);
    });
    if (top) area.y0 = t + 0.03 * cv.h;
    else area.y1 = cv.h - t - 0.03 * cv.h;
  }
  return area;
}

/** A soft shadow edge crossing the picture near the digit (a hand or a phone between lamp and page). */
function shadow(cv: Canvas, rng: Rng, through: { x: number; y: number }): void {
  const a = rng.uniform(0, Math.PI), nx = Math.cos(a), ny = Math.sin(a);
  const off = rng.uniform(-0.1, 0.1) * Math.min(cv.w, cv.h);
  const depth = rng.uniform(0.35, 0.6), soft = rng.uniform(4, 0.12 * Math.min(cv.w, cv.h));
  const base = rng.uniform(0.85, 1);
  cv.light((i) => {
    const x = i % cv.w, y = (i - x) / cv.w;
    const d = (x - through.x) * nx + (y - through.y) * ny - off;
    return base * (1 - depth * smooth(-soft, soft, d));
  });
}

function glare(cv: Canvas, rng: Rng, near: { x: number; y: number }): void {
  const gx = near.x + rng.uniform(-0.3, 0.3) * cv.w, gy = near.y + rng.uniform(-0.3, 0.3) * cv.h;
  const sigma = rng.uniform(0.1, 0.25) * Math.min(cv.w, cv.h), g = rng.uniform(0.3, 0.7);
  const vig = rng.uniform(0.25, 0.5);
  const cx = cv.w / 2, cy = cv.h / 2, rr = cx * cx + cy * cy;
  for (let i = 0; i < cv.r.length; i++) {
    const x = i % cv.w, y = (i - x) / cv.w;
    const k = 1 - (vig * ((x - cx) ** 2 + (y - cy) ** 2)) / rr;
    const s = g * Math.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * sigma * sigma));
    cv.r[i] = cv.r[i] * k + s * (1 - cv.r[i] * k);
    cv.g[i] = cv.g[i] * k + s * (1 - cv.g[i] * k);
    cv.b[i] = cv.b[i] * k + s * (1 - cv.b[i] * k);
  }
}

function gradient(cv: Canvas, rng: Rng): void {
  const gx = rng.uniform(-0.08, 0.08), gy = rng.uniform(-0.08, 0.08), base = rng.uniform(0.9, 1);
  cv.light((i) => {
    const x = i % cv.w, y = (i - x) / cv.w;
    return base * (1 + gx * (x / cv.w - 0.5) + gy * (y / cv.h - 0.5));
  });
}

function noise(cv: Canvas, rng: Rng, sigma: number): void {
  for (let i = 0; i < cv.r.length; i++) {
    cv.r[i] += sigma * gauss(rng);
    cv.g[i] += sigma * gauss(rng);
    cv.b[i] += sigma * gauss(rng);
  }
}

/**
 * A phone camera: perspective (the page tilted up to ~15°), barrel distortion, motion or
 * defocus blur, colour cast, sensor noise and JPEG at quality 30–60. The digit's coverage goes
 * through the same geometry so its true box follows.
 */
function camera(cv: Canvas, truth: Float32Array, rng: Rng): { image: RgbaImage; truth: Float32Array } {
  const W = cv.w, H = cv.h;
  // projective map from output pixel to source pixel: a square seen tilted by up to ~15°
  const tx = rng.uniform(-0.25, 0.25) / W, ty = rng.uniform(-0.25, 0.25) / H;
  const k = rng.uniform(0.02, 0.08);
  const out = new Canvas(W, H);
  const truthOut = new Float32Array(W * H);
  const cx = W / 2, cy = H / 2, R = Math.hypot(cx, cy);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // barrel: sample farther out as the radius grows
      let u = x + 0.5 - cx, v = y + 0.5 - cy;
      const r2 = (u * u + v * v) / (R * R);
      u *= 1 - k * r2;
      v *= 1 - k * r2;
      const den = 1 + tx * u + ty * v;
      const sx = u / den + cx, sy = v / den + cy;
      const i = y * W + x;
      // bilinear, clamped to the picture
      const fx0 = Math.min(W - 1, Math.max(0, sx - 0.5)), fy0 = Math.min(H - 1, Math.max(0, sy - 0.5));
      const x0 = Math.min(W - 2, Math.floor(fx0)), y0 = Math.min(H - 2, Math.floor(fy0));
      const fx = fx0 - x0, fy = fy0 - y0, j = y0 * W + x0;
      out.r[i] = mix4(cv.r, j, W, fx, fy);
      out.g[i] = mix4(cv.g, j, W, fx, fy);
      out.b[i] = mix4(cv.b, j, W, fx, fy);
      truthOut[i] = mix4(truth, j, W, fx, fy);
    }
  }
  // blur: motion along an angle, or defocus
  let chans = [out.r, out.g, out.b];
  if (rng.next() < 0.5) {
    const len = Math.round(rng.uniform(3, 9)), a = rng.uniform(0, Math.PI);
    chans = chans.map((c) => motionBlur(c, W, H, len, a));
  } else {
    const r = Math.round(rng.uniform(1, 3));
    chans = chans.map((c) => boxBlur(boxBlur(c, W, H, r), W, H, Math.max(1, r - 1)));
  }
  const cast: RGB = [rng.uniform(0.85, 1.1), rng.uniform(0.9, 1.05), rng.uniform(0.8, 1.15)];
  const sigma = rng.uniform(0.01, 0.04);
  const data = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) {
    for (let c = 0; c < 3; c++) data[4 * i + c] = byte(chans[c][i] * cast[c] + sigma * gauss(rng));
    data[4 * i + 3] = 255;
  }
  const q = Math.round(rng.uniform(30, 60));
  const decoded = jpeg.decode(jpeg.encode({ width: W, height: H, data }, q).data, { useTArray: true });
  return { image: { width: W, height: H, data: decoded.data }, truth: truthOut };
}

/** `a` at fraction (fx, fy) of the way from pixel j to its right and lower neighbours. */
function mix4(a: Float32Array, j: number, W: number, fx: number, fy: number): number {
  return (a[j] * (1 - fx) + a[j + 1] * fx) * (1 - fy) + (a[j + W] * (1 - fx) + a[j + W + 1] * fx) * fy;
}

function motionBlur(a: Float32Array, w: number, h: number, len: number, angle: number): Float32Array {
  const out = new Float32Array(w * h);
  const dx = Math.cos(angle), dy = Math.sin(angle);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < len; k++) {
        const t = k - (len - 1) / 2;
        const xx = Math.min(w - 1, Math.max(0, Math.round(x + t * dx))), yy = Math.min(h - 1, Math.max(0, Math.round(y + t * dy)));
        s += a[yy * w + xx];
      }
      out[y * w + x] = s / len;
    }
  }
  return out;
}

function boxOf(cov: Float32Array, w: number, h: number): Box | undefined {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (cov[y * w + x] < 0.5) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** A scene scaled up to `size` ("4000x3000"), turned to its orientation: the long side on its long side. */
export function upscaleTo(img: RgbaImage, size: string): RgbaImage {
  const [long, short] = size.split('x').map(Number).sort((a, b) => b - a);
  return img.width > img.height ? upscale(img, long, short) : upscale(img, short, long);
}

/**
 * A scene scaled up to W x H (a phone's photo size) by nearest neighbour, a pixel at a time as
 * one 32-bit word: no garbage left for the collector to charge to the pictures timed next.
 */
export function upscale(img: RgbaImage, W: number, H: number): RgbaImage {
  const data = new Uint8Array(W * H * 4);
  const to = new Uint32Array(data.buffer), from = new Uint32Array(Uint8Array.from(img.data).buffer);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / H));
    for (let x = 0; x < W; x++) to[y * W + x] = from[sy * img.width + Math.min(img.width - 1, Math.floor((x * img.width) / W))];
  }
  return { width: W, height: H, data };
}
