// The --explain page: one self-contained HTML file showing what every layer of the user's model
// does to one image (CNN Explainer style). Rendered from an Explanation (activations.ts).
import type { Tensor } from '../engine/tensor.ts';
import type { Sequential } from '../nn/sequential.ts';
import { explain, type Explanation, type WeightImages } from './activations.ts';
import { EXPLAIN_SCRIPT } from './explain-script.ts';
import {
  DIVERGING, SEQUENTIAL, downscale, esc, fileDataUri, float32Base64, fmtInt, fmtNum, fmtPct, fmtShapeText, htmlPage,
  pngDataUri, rgbCss, scaleFor, type Pixels, type Rgb, type Scale,
} from './html.ts';

/** The picture as the user gave it: an encoded file to embed as is, or decoded pixels. */
export type OriginalImage = { bytes: Uint8Array; mime: string } | Pixels;

/** Files up to this size are embedded as they are; larger ones as a shrunk PNG. */
const MAX_EMBEDDED_BYTES = 512 * 1024;

/**
 * What to embed for a picture file the user gave: the file itself when it is small, else its
 * decoded RGBA pixels shrunk to at most 512 pixels a side (a 12-megapixel photo stays readable
 * and the page stays small).
 */
export function originalImage(file: { bytes: Uint8Array; format: string; width: number; height: number; data: Uint8Array }): OriginalImage {
  if (file.bytes.length <= MAX_EMBEDDED_BYTES) return { bytes: file.bytes, mime: `image/${file.format}` };
  return downscale({ width: file.width, height: file.height, channels: 4, data: file.data }, 512);
}

export interface ExplainPageOptions {
  /** Shown in the title, e.g. the image file name. */
  source?: string;
  original?: OriginalImage;
  /** Class names (defaults to "0".."9"). */
  classes?: readonly string[];
  /** e.g. "cnn from weights.json". */
  modelLabel?: string;
  /** Most first-layer templates drawn for an MLP (the rest are counted, not drawn). */
  maxTemplates?: number;
}

const GREY: readonly Rgb[] = [[0, 0, 0], [255, 255, 255]];
/** Widest strip before it wraps, in cells. */
const STRIP_COLS = 112;
/** Display size of a feature map, whatever its resolution, so maps of all layers line up. */
const MAP_PX = 84;

interface Block {
  w: number;
  h: number;
  /** Real values per map (a strip's last row may be short). */
  n: number;
  count: number;
  strip: boolean;
  scale: Scale | { kind: 'grey'; lo: number; hi: number };
  b64: string;
}

function stripGeometry(n: number): { w: number; h: number } {
  const w = Math.min(n, STRIP_COLS);
  return { w, h: Math.ceil(n / w) };
}

function legend(scale: { kind: string; lo: number; hi: number }, what = 'shared colour scale'): string {
  const stops = scale.kind === 'diverging' ? DIVERGING : scale.kind === 'grey' ? GREY : SEQUENTIAL;
  const grad = `linear-gradient(to right, ${stops.map(rgbCss).join(', ')})`;
  return (
    `<div class="legend" data-kind="${esc(scale.kind)}"><span>${esc(what)}:</span><span>${esc(fmtNum(scale.lo))}</span>` +
    `<span class="bar" style="background: ${grad}"></span><span>${esc(fmtNum(scale.hi))}</span>` +
    `<span class="kind">(${scale.kind === 'diverging' ? 'diverging, centred on 0' : scale.kind === 'grey' ? 'grey' : 'sequential, from 0'})</span></div>`
  );
}

function canvas(o: { src: string; ch?: number; w: number; h: number; cls: string; label: string; cssW: number; cssH: number }): string {
  return (
    `<canvas class="${o.cls}" data-src="${esc(o.src)}" data-ch="${o.ch ?? 0}" data-label="${esc(o.label)}" ` +
    `width="${o.w}" height="${o.h}" style="width:${o.cssW}px;height:${o.cssH}px"></canvas>`
  );
}

function mapScale(h: number, w: number, target = MAP_PX): number {
  return Math.max(1, Math.round(target / Math.max(h, w)));
}

function weightBlock(wi: WeightImages, count: number): { block: Block; scale: Scale } {
  const [o, c, kh, kw] = wi.shape;
  const n = kh * kw;
  const values = wi.values.subarray(0, Math.min(o * c, count) * n);
  const scale = scaleFor(values);
  return { block: { w: kw, h: kh, n, count: values.length / n, strip: false, scale, b64: float32Base64(values) }, scale };
}

/** Renders the explain page for one image. */
export function explainPage(ex: Explanation, opts: ExplainPageOptions = {}): string {
  const classes = opts.classes ?? Array.from(ex.logits, (_, i) => String(i));
  const blocks: Record<string, Block> = {};
  const parts: string[] = [];
  const predictedName = classes[ex.predicted] ?? String(ex.predicted);
  const pTop = ex.probs[ex.predicted];

  // header
  parts.push(
    `<header class="top"><div><h1>What the network sees${opts.source ? ` in <span class="src">${esc(opts.source)}</span>` : ''}</h1>` +
      `<p class="sub">${opts.modelLabel ? `${esc(opts.modelLabel)} · ` : ''}${ex.layers.length} layers, ` +
      `${fmtInt(ex.layers.reduce((n, l) => n + l.params, 0))} parameters · hover a cell for its value, click a map to enlarge it</p></div>` +
      `<div class="verdict">prediction <strong class="predicted-digit" data-class="${ex.predicted}">${esc(predictedName)}</strong>` +
      `<span>${esc(fmtPct(pTop, 1))}</span></div></header>`,
  );

  // input: the original picture and the tensor the model saw
  const [ic, ih, iw] = ex.input.shape.length === 3 ? ex.input.shape : [1, 1, ex.input.values.length];
  let lo = Infinity, hi = -Infinity;
  for (const v of ex.input.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) hi = lo + 1;
  blocks.input = { w: iw, h: ih, n: ih * iw, count: ic, strip: false, scale: { kind: 'grey', lo, hi }, b64: float32Base64(ex.input.values) };
  const k = mapScale(ih, iw, 112);
  let original = '';
  if (opts.original) {
    const uri = 'bytes' in opts.original ? fileDataUri(opts.original.bytes, opts.original.mime) : pngDataUri(opts.original);
    const dims = 'bytes' in opts.original ? '' : ` (shown at ${opts.original.width}×${opts.original.height})`;
    original = `<figure class="original"><img class="px" src="${uri}" alt="the original picture"><figcaption>original picture${esc(dims)}</figcaption></figure>`;
  }
  const inputMaps = Array.from({ length: ic }, (_, c) =>
    `<figure>${canvas({ src: 'input', ch: c, w: iw, h: ih, cls: 'map input zoomable', label: `input${ic > 1 ? ` ch ${c}` : ''}`, cssW: iw * k, cssH: ih * k })}` +
      `<figcaption>input ${esc(fmtShapeText(ex.input.shape))}, normalised</figcaption></figure>`,
  ).join('');
  parts.push(
    `<section class="card inputs" id="input"><h2>Input</h2><p class="meta">what the model saw: the picture as a ${esc(fmtShapeText(ex.input.shape))} tensor after normalisation</p>` +
      `${legend(blocks.input.scale, 'input scale')}<div class="row">${original}${inputMaps}</div></section>`,
  );

  // layers
  for (const l of ex.layers) {
    const key = `L${l.index}`;
    const scale = scaleFor(l.values);
    const label = `${l.index} · ${l.type}`;
    let body = '';
    let extra = '';
    let what = '';
    if (l.outputShape.length === 3) {
      const [c, h, w] = l.outputShape;
      blocks[key] = { w, h, n: h * w, count: c, strip: false, scale, b64: float32Base64(l.values) };
      const s = mapScale(h, w);
      what = `${c} feature map${c === 1 ? '' : 's'} of ${h}×${w}`;
      body =
        `<div class="grid maps">` +
        Array.from({ length: c }, (_, ch) =>
          `<figure class="fmap-fig">${canvas({ src: key, ch, w, h, cls: 'map fmap zoomable', label: `${label} ch ${ch}`, cssW: w * s, cssH: h * s })}` +
            `<figcaption>${ch}</figcaption></figure>`,
        ).join('') +
        `</div>`;
    } else {
      const n = l.values.length;
      const g = stripGeometry(n);
      blocks[key] = { ...g, n, count: 1, strip: true, scale, b64: float32Base64(l.values) };
      const cell = n <= 16 ? 24 : n <= 64 ? 12 : 8;
      what = `${fmtInt(n)} value${n === 1 ? '' : 's'}`;
      body = `<div class="strip-wrap">${canvas({ src: key, w: g.w, h: g.h, cls: 'map strip', label, cssW: g.w * cell, cssH: g.h * cell })}</div>`;
    }
    if (ex.kernels && ex.kernels.layerIndex === l.index) {
      const { block, scale: ks } = weightBlock(ex.kernels, Infinity);
      blocks.kernels = block;
      const [o, c, kh, kw] = ex.kernels.shape;
      const s = mapScale(kh, kw, 42);
      extra +=
        `<div class="weights"><h3>kernels: weight ${esc(fmtShapeText(ex.kernels.shape))}</h3>${legend(ks, 'kernel scale')}<div class="grid kernels">` +
        Array.from({ length: o * c }, (_, i) =>
          `<figure>${canvas({ src: 'kernels', ch: i, w: kw, h: kh, cls: 'map kernel zoomable', label: `kernel ${Math.floor(i / c)}${c > 1 ? `/${i % c}` : ''}`, cssW: kw * s, cssH: kh * s })}` +
            `<figcaption>${c > 1 ? `${Math.floor(i / c)}/${i % c}` : i}</figcaption></figure>`,
        ).join('') +
        `</div></div>`;
    }
    if (ex.templates && ex.templates.layerIndex === l.index) {
      const max = opts.maxTemplates ?? 256;
      const { block, scale: ts } = weightBlock(ex.templates, max);
      blocks.templates = block;
      const [o, , th, tw] = ex.templates.shape;
      const s = mapScale(th, tw, 56);
      const note = block.count < o ? ` (the first ${block.count} of ${o} units)` : '';
      extra +=
        `<div class="weights"><h3>weights as ${th}×${tw} templates: one per unit${esc(note)}</h3>${legend(ts, 'weight scale')}<div class="grid templates">` +
        Array.from({ length: block.count }, (_, i) =>
          `<figure>${canvas({ src: 'templates', ch: i, w: tw, h: th, cls: 'map template zoomable', label: `unit ${i} weights`, cssW: tw * s, cssH: th * s })}` +
            `<figcaption>${i}</figcaption></figure>`,
        ).join('') +
        `</div></div>`;
    }
    parts.push(
      `<section class="card layer" id="layer-${l.index}" data-index="${l.index}" data-type="${esc(l.type)}">` +
        `<h2>${l.index} · ${esc(l.name)}</h2>` +
        `<p class="meta">output ${esc(fmtShapeText(l.outputShape))} · ${esc(what)} · ${fmtInt(l.params)} parameter${l.params === 1 ? '' : 's'}</p>` +
        `${extra}${legend(scale)}${body}</section>`,
    );
  }

  // output: logits and probabilities
  const maxAbs = ex.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  const rows = Array.from(ex.logits, (z, i) => {
    const p = ex.probs[i];
    const isPred = i === ex.predicted;
    const half = (Math.abs(z) / maxAbs) * 50;
    const logitBar = z >= 0 ? `left:50%;width:${half.toFixed(2)}%` : `left:${(50 - half).toFixed(2)}%;width:${half.toFixed(2)}%`;
    return (
      `<tr class="class-row${isPred ? ' predicted' : ''}" data-class="${i}">` +
      `<th>${esc(classes[i] ?? String(i))}</th>` +
      `<td class="num">${esc(fmtNum(z))}</td>` +
      `<td class="barcell logit"><div class="axis"></div><div class="b ${z >= 0 ? 'pos' : 'neg'}" style="${logitBar}" title="logit ${esc(fmtNum(z))}"></div></td>` +
      `<td class="barcell prob"><div class="b" style="width:${(p * 100).toFixed(2)}%" title="p = ${esc(fmtNum(p))}"></div></td>` +
      `<td class="num">${esc(fmtPct(p))}</td>` +
      `<td class="mark">${isPred ? '◀ prediction' : ''}</td></tr>`
    );
  }).join('');
  parts.push(
    `<section class="card output" id="output"><h2>Output: logits → softmax</h2>` +
      `<p class="meta">the last layer's ${ex.logits.length} scores, and the probabilities softmax turns them into</p>` +
      `<p class="prediction">predicted <strong id="predicted" data-class="${ex.predicted}">${esc(predictedName)}</strong> with probability ${esc(fmtPct(pTop))}</p>` +
      `<table class="bars"><thead><tr><th>class</th><th class="num">logit</th><th></th><th></th><th class="num">probability</th><th></th></tr></thead><tbody>${rows}</tbody></table></section>`,
  );

  parts.push(
    `<div id="zoom" class="zoom" hidden><div class="zoom-box"><p id="zoom-title"></p><canvas id="zoom-canvas" width="1" height="1"></canvas><p class="meta">click outside or press Esc to close</p></div></div>`,
    `<div id="tip" class="tip" role="tooltip" hidden></div>`,
  );

  return htmlPage({
    title: `mnist-ts explain${opts.source ? `: ${opts.source}` : ''} → ${predictedName}`,
    css: EXPLAIN_CSS,
    body: parts.join('\n'),
    data: { colormaps: { sequential: SEQUENTIAL, diverging: DIVERGING, grey: GREY }, blocks },
    script: EXPLAIN_SCRIPT,
  });
}

/** The explain page's styles; the live page (live-page.ts) shows its layers the same way. */
export const EXPLAIN_CSS = `
header.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 20px; margin-bottom: 14px; }
header.top .src { font-family: ui-monospace, Menlo, Consolas, monospace; }
.verdict { background: var(--card); border: 2px solid var(--accent); border-radius: 10px; padding: 6px 16px; text-align: center; min-width: 120px; }
.verdict strong { display: block; font-size: 44px; line-height: 1.1; color: var(--accent); }
.verdict span { color: var(--muted); font-size: 12px; }
figure { margin: 0; text-align: center; }
figcaption { font-size: 11px; color: var(--muted); }
.original img { max-width: 112px; max-height: 112px; min-width: 56px; border: 1px solid var(--line); background: #fff; }
.grid { display: flex; flex-wrap: wrap; gap: 6px 8px; }
canvas.map { display: block; border: 1px solid var(--line); cursor: crosshair; }
canvas.zoomable { cursor: zoom-in; }
.weights { margin-bottom: 8px; }
.strip-wrap { overflow-x: auto; }
table.bars { border-collapse: collapse; font-size: 13px; }
table.bars th, table.bars td { padding: 2px 8px; text-align: left; }
table.bars td.num, table.bars th.num { text-align: right; font-variant-numeric: tabular-nums; font-family: ui-monospace, Menlo, Consolas, monospace; }
td.barcell { position: relative; width: 220px; height: 18px; }
td.barcell .b { position: absolute; top: 3px; height: 12px; border-radius: 2px; }
td.logit .axis { position: absolute; left: 50%; top: 0; bottom: 0; border-left: 1px solid #999; }
td.logit .b.pos { background: rgb(178, 24, 43); }
td.logit .b.neg { background: rgb(33, 102, 172); }
td.prob .b { left: 0; background: #6b7280; }
tr.predicted th, tr.predicted td.num { color: var(--accent); font-weight: 700; }
tr.predicted td.prob .b { background: var(--accent); }
td.mark { color: var(--accent); font-weight: 600; }
.prediction strong { font-size: 20px; color: var(--accent); }
.zoom { position: fixed; inset: 0; background: rgba(15, 20, 30, 0.6); display: flex; align-items: center; justify-content: center; z-index: 10; }
.zoom[hidden] { display: none; }
.zoom-box { background: var(--card); border-radius: 10px; padding: 12px 16px; text-align: center; }
.zoom-box canvas { display: block; margin: 6px auto; border: 1px solid var(--line); cursor: crosshair; }
#zoom-title { font-family: ui-monospace, Menlo, Consolas, monospace; margin: 0; }
.tip { position: fixed; z-index: 20; pointer-events: none; background: #111827; color: #fff; font: 12px ui-monospace, Menlo, Consolas, monospace; padding: 3px 7px; border-radius: 4px; white-space: nowrap; }
.tip[hidden] { display: none; }
`;

/** Runs one image x: [1, C, H, W] through the model and renders the page; also returns the prediction. */
export function explainHtml(model: Sequential, x: Tensor, opts: ExplainPageOptions = {}): { html: string; explanation: Explanation } {
  const explanation = explain(model, x);
  return { html: explainPage(explanation, opts), explanation };
}
