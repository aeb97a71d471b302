// The live page's script, bundled from src/ by the server (esbuild): the user draws, the strokes
// go through mnist-predict's own preparation (data/image.ts) and the engine's own forward pass
// (nn/, engine/), and every layer is repainted; a click on a cell shows its arithmetic. Under
// mnist-train --serve it also draws the run: curves, and a few test digits with the new weights.
import { defaultBackend, setBackend } from '../engine/backend.ts';
import { compileKernels } from '../engine/wasm/runtime.ts';
import { Tensor } from '../engine/tensor.ts';
import { SIZE, preprocessImage } from '../data/image.ts';
import { normalizeImage } from '../data/normalize.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { Linear } from '../nn/linear.ts';
import { MaxPool2d } from '../nn/max-pool2d.ts';
import { buildModel, parameterCount } from '../nn/models.ts';
import type { Sequential } from '../nn/sequential.ts';
import { layerRepr } from '../nn/summary.ts';
import { explain, type Explanation, type WeightImages } from '../report/activations.ts';
import { DIVERGING, SEQUENTIAL, colorAt, fmtNum, scaleFor, type Rgb } from '../report/colors.ts';
import type { LiveDone, LiveEpoch, LiveModel, LiveParams, LivePoint, LiveState, LiveSync, PreparedPicture } from './protocol.ts';
import { convCell, linearUnit, poolCell, type ConvWork, type LinearWork, type PoolWork } from './worked.ts';

type Kind = 'sequential' | 'diverging' | 'grey';
interface Scale { kind: Kind; lo: number; hi: number }

const GREY: readonly Rgb[] = [[0, 0, 0], [255, 255, 255]];
const STOPS: Record<Kind, readonly Rgb[]> = { sequential: SEQUENTIAL, diverging: DIVERGING, grey: GREY };
/** 256-colour tables as packed RGBA pixels, so painting a map is one lookup and one store a cell. */
const LUT: Record<Kind, Uint32Array> = { sequential: lut(SEQUENTIAL), diverging: lut(DIVERGING), grey: lut(GREY) };
const MAP_PX = 84;
const STRIP_COLS = 112;
const PAD_PX = 280;

function lut(stops: readonly Rgb[]): Uint32Array {
  const bytes = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) bytes.set([...colorAt(stops, i / 255), 255], i * 4);
  return new Uint32Array(bytes.buffer);
}

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`live page: no #${id}`);
  return e;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

function decodeF32(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function decodeU8(b64: string): Uint8Array {
  const s = atob(b64);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The pushed tensors (parameters and running statistics) as float32, by state_dict key. */
function decodeState(params: LiveParams): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [key, t] of Object.entries(params)) out[key] = decodeF32(t.b64);
  return out;
}

/** Copies pushed tensors into the model, checking keys and sizes. */
function loadParams(model: Sequential, params: LiveParams): void {
  for (const p of [...model.namedParameters(), ...model.namedBuffers()]) {
    const t = params[p.key];
    if (!t) throw new Error(`live page: parameter ${p.key} missing`);
    const v = decodeF32(t.b64);
    if (v.length !== p.value.size) throw new Error(`live page: parameter ${p.key} has ${v.length} values, the model needs ${p.value.size}`);
    p.value.data.set(v);
  }
}

function scaleOf(values: ArrayLike<number>): Scale {
  return scaleFor(values) as Scale;
}

/** Each canvas keeps its context and pixel buffer: a repaint allocates nothing. */
const surfaces = new WeakMap<HTMLCanvasElement, { ctx: CanvasRenderingContext2D; img: ImageData; px: Uint32Array }>();

/** Paints map `ch` of a block of maps (each h×w, n real cells) onto a canvas sized w×h. */
function paint(canvas: HTMLCanvasElement, values: ArrayLike<number>, ch: number, w: number, h: number, n: number, scale: Scale): void {
  let s = surfaces.get(canvas);
  if (!s) {
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(w, h);
    s = { ctx, img, px: new Uint32Array(img.data.buffer) };
    surfaces.set(canvas, s);
  }
  const t = LUT[scale.kind];
  const k = 255 / (scale.hi - scale.lo || 1);
  const lo = scale.lo;
  const off = ch * n;
  const px = s.px;
  for (let i = 0; i < n; i++) {
    const j = Math.round((values[off + i] - lo) * k);
    px[i] = t[j >= 0 ? (j <= 255 ? j : 255) : 0]; // NaN lands on 0 too
  }
  s.ctx.putImageData(s.img, 0, 0);
}

function mapCanvas(cls: string, w: number, h: number, cssW: number, cssH: number, data: Record<string, string> = {}): HTMLCanvasElement {
  const c = el('canvas', { class: cls, width: String(w), height: String(h), style: `width:${cssW}px;height:${cssH}px` });
  for (const [k, v] of Object.entries(data)) c.dataset[k] = v;
  return c;
}

function mapScale(h: number, w: number, target = MAP_PX): number {
  return Math.max(1, Math.round(target / Math.max(h, w)));
}

/** A colour legend whose ends follow the values drawn. */
class Legend {
  readonly node: HTMLElement;
  private lo = el('span');
  private hi = el('span');
  private bar = el('span', { class: 'bar' });
  private kindText = el('span', { class: 'kind' });
  constructor(what: string) {
    this.node = el('div', { class: 'legend' }, el('span', { text: `${what}:` }), this.lo, this.bar, this.hi, this.kindText);
  }
  set(s: Scale): void {
    // only what changed is touched: every write costs the page a style recalculation
    const lo = fmtNum(s.lo), hi = fmtNum(s.hi);
    if (this.lo.textContent !== lo) this.lo.textContent = lo;
    if (this.hi.textContent !== hi) this.hi.textContent = hi;
    if (this.node.dataset.kind === s.kind) return;
    this.node.dataset.kind = s.kind;
    this.bar.style.background = `linear-gradient(to right, ${STOPS[s.kind].map((c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`).join(', ')})`;
    this.kindText.textContent = s.kind === 'diverging' ? '(diverging, centred on 0)' : s.kind === 'grey' ? '(grey)' : '(sequential, from 0)';
  }
}

interface LayerView {
  index: number;
  type: string;
  shape: number[];
  section: HTMLElement;
  legend: Legend;
  canvases: HTMLCanvasElement[];
  geometry: { w: number; h: number; n: number; strip: boolean };
}

interface WeightView {
  canvases: HTMLCanvasElement[];
  legend: Legend;
  count: number;
}

class LivePage {
  private model: Sequential;
  private readonly info: LiveModel;
  private readonly inShape: number[];
  private layers: LayerView[] = [];
  private kernels?: WeightView;
  private templates?: WeightView;
  private inputCanvas: HTMLCanvasElement;
  private inputLegend = new Legend('input scale');
  private ex?: Explanation;
  private x?: Tensor;
  private pixels?: Uint8Array;
  private pad: HTMLCanvasElement;
  private padCtx: CanvasRenderingContext2D;
  private pending = false;
  private drawing = false;
  private padDirty = false;
  /** The last selected cell, recomputed when the input or the weights change. */
  private selected?: { layer: number; ch: number; row: number; col: number };
  /** Milliseconds of forward pass + repaint, one entry per update (read by the browser test). */
  readonly times: number[] = [];
  /** [forward, repaint] milliseconds of each update. */
  readonly split: [number, number][] = [];

  constructor(info: LiveModel) {
    this.info = info;
    // built from the pushed tensors; later snapshots are copied into them (setParams)
    this.model = buildModel(info.model.layers, { state: decodeState(info.state.params) });
    this.model.eval();
    this.inShape = info.input.shape;
    this.pad = $('pad') as HTMLCanvasElement;
    this.padCtx = this.pad.getContext('2d', { willReadFrequently: true })!;
    this.clearPad();
    const [, ih, iw] = this.inShape;
    const k = mapScale(ih, iw, 112);
    this.inputCanvas = mapCanvas('map input', iw, ih, iw * k, ih * k, { layer: 'input', ch: '0' });
    $('input-maps').append(el('figure', {}, this.inputCanvas, el('figcaption', { text: `input [${this.inShape.join(', ')}], normalised` })));
    $('input-legend').append(this.inputLegend.node);
    this.buildLayers();
    this.hookPad();
    this.hookTip();
    $('clear').addEventListener('click', () => this.clear());
    const file = $('file') as HTMLInputElement;
    file.addEventListener('change', () => {
      if (file.files?.[0]) void this.prepareFile(file.files[0]);
      file.value = '';
    });
    $('title').textContent = info.title;
    $('subtitle').textContent =
      `${info.model.name}${info.model.arch ? `: ${info.model.arch}` : ''} · ${this.model.layers.length} layers, ` +
      `${parameterCount(this.model).toLocaleString('en-US')} parameters · ` +
      'the forward pass runs in this page, with the engine of mnist-ts';
    this.repaintWeights();
  }

  // ---- layers ----

  private buildLayers(): void {
    const host = $('layers');
    let shape = [1, ...this.inShape];
    this.model.layers.forEach((l, i) => {
      shape = l.outputShape(shape);
      const out = shape.slice(1);
      const params = parameterCount(l);
      const legend = new Legend('shared colour scale');
      const canvases: HTMLCanvasElement[] = [];
      let body: HTMLElement;
      let geometry: LayerView['geometry'];
      let what: string;
      if (out.length === 3) {
        const [c, h, w] = out;
        const s = mapScale(h, w);
        geometry = { w, h, n: h * w, strip: false };
        what = `${c} feature map${c === 1 ? '' : 's'} of ${h}×${w}`;
        body = el('div', { class: 'grid maps' });
        for (let ch = 0; ch < c; ch++) {
          const cv = mapCanvas('map fmap', w, h, w * s, h * s, { layer: String(i), ch: String(ch) });
          canvases.push(cv);
          body.append(el('figure', { class: 'fmap-fig' }, cv, el('figcaption', { text: String(ch) })));
        }
      } else {
        const n = out.reduce((a, b) => a * b, 1);
        const w = Math.min(n, STRIP_COLS), h = Math.ceil(n / w);
        geometry = { w, h, n, strip: true };
        const cell = n <= 16 ? 24 : n <= 64 ? 12 : 8;
        what = `${n.toLocaleString('en-US')} value${n === 1 ? '' : 's'}`;
        const cv = mapCanvas('map strip', w, h, w * cell, h * cell, { layer: String(i), ch: '0' });
        canvases.push(cv);
        body = el('div', { class: 'strip-wrap' }, cv);
      }
      const section = el('section', { class: 'card layer', id: `layer-${i}`, 'data-index': String(i), 'data-type': l.type },
        el('h2', { text: `${i} · ${layerRepr(l.spec())}` }),
        el('p', { class: 'meta', text: `output [${out.join(', ')}] · ${what} · ${params.toLocaleString('en-US')} parameter${params === 1 ? '' : 's'} · click a cell for its arithmetic` }),
      );
      section.append(legend.node, body);
      host.append(section);
      for (const cv of canvases) cv.addEventListener('click', (ev) => this.onCellClick(cv, ev));
      this.layers.push({ index: i, type: l.type, shape: out, section, legend, canvases, geometry });
    });
  }

  /** The first conv's kernels (or an MLP's first-layer templates), drawn from the current weights. */
  private repaintWeights(): void {
    const probe = explainWeights(this.model, this.inShape);
    if (probe.kernels) this.kernels = this.paintWeights(probe.kernels, this.kernels, 'kernels', Infinity);
    if (probe.templates) this.templates = this.paintWeights(probe.templates, this.templates, 'templates', 64);
  }

  private paintWeights(wi: WeightImages, view: WeightView | undefined, cls: 'kernels' | 'templates', max: number): WeightView {
    const [o, c, kh, kw] = wi.shape;
    const count = Math.min(o * c, max);
    const values = wi.values.subarray(0, count * kh * kw);
    const scale = scaleOf(values);
    if (!view) {
      const legend = new Legend(cls === 'kernels' ? 'kernel scale' : 'weight scale');
      const grid = el('div', { class: `grid ${cls}` });
      const s = mapScale(kh, kw, cls === 'kernels' ? 42 : 56);
      const canvases: HTMLCanvasElement[] = [];
      for (let i = 0; i < count; i++) {
        const cv = mapCanvas(`map ${cls === 'kernels' ? 'kernel' : 'template'}`, kw, kh, kw * s, kh * s, { layer: cls, ch: String(i) });
        canvases.push(cv);
        grid.append(el('figure', {}, cv, el('figcaption', { text: c > 1 ? `${Math.floor(i / c)}/${i % c}` : String(i) })));
      }
      const title = cls === 'kernels' ? `kernels: weight [${wi.shape.join(', ')}]` : `weights as ${kh}×${kw} templates${count < o ? ` (the first ${count} of ${o} units)` : ''}`;
      const box = el('div', { class: 'weights' }, el('h3', { text: title }), legend.node, grid);
      const section = this.layers[wi.layerIndex].section;
      section.insertBefore(box, section.querySelector('.legend'));
      view = { canvases, legend, count };
    }
    view.legend.set(scale);
    for (let i = 0; i < view.count; i++) paint(view.canvases[i], values, i, kw, kh, kh * kw, scale);
    return view;
  }

  // ---- input ----

  private clearPad(): void {
    this.padCtx.fillStyle = '#fff';
    this.padCtx.fillRect(0, 0, this.pad.width, this.pad.height);
  }

  clear(): void {
    this.clearPad();
    this.padDirty = false;
    this.setStatus('draw a digit');
  }

  private setStatus(text: string): void {
    $('status').textContent = text;
  }

  private hookPad(): void {
    const ctx = this.padCtx;
    const pos = (ev: PointerEvent): [number, number] => {
      const r = this.pad.getBoundingClientRect();
      return [((ev.clientX - r.left) / r.width) * this.pad.width, ((ev.clientY - r.top) / r.height) * this.pad.height];
    };
    this.pad.addEventListener('pointerdown', (ev) => {
      ev.preventDefault();
      if (!this.padDirty) this.clearPad(); // a dropped picture was showing
      this.padDirty = true;
      this.drawing = true;
      this.pad.setPointerCapture(ev.pointerId);
      const [x, y] = pos(ev);
      ctx.strokeStyle = '#000';
      ctx.fillStyle = '#000';
      ctx.lineWidth = PAD_PX / 14;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.beginPath();
      ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      ctx.beginPath();
      ctx.moveTo(x, y);
      this.requestUpdate();
    });
    this.pad.addEventListener('pointermove', (ev) => {
      if (!this.drawing) return;
      const [x, y] = pos(ev);
      ctx.lineTo(x, y);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x, y);
      this.requestUpdate();
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.requestUpdate();
    };
    this.pad.addEventListener('pointerup', end);
    this.pad.addEventListener('pointercancel', end);
    const drop = $('drop-zone');
    drop.addEventListener('dragover', (ev) => ev.preventDefault());
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      const f = ev.dataTransfer?.files[0];
      if (f) void this.prepareFile(f);
    });
  }

  /** Redraws at most once a frame while the strokes change. */
  private requestUpdate(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.updateFromPad();
    });
  }

  /** The pad's pixels through mnist-predict's preparation, then the forward pass. */
  private updateFromPad(): void {
    const img = this.padCtx.getImageData(0, 0, this.pad.width, this.pad.height);
    const pre = preprocessImage({ width: img.width, height: img.height, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) });
    if (!pre.pixels) {
      this.setStatus(pre.reason ?? 'no digit found');
      return;
    }
    this.setStatus('your drawing, prepared as mnist-predict prepares a picture');
    this.run(pre.pixels);
  }

  /** A dropped or chosen picture file: the server prepares it with mnist-predict's own reading code. */
  private async prepareFile(f: File): Promise<void> {
    this.setStatus(`reading ${f.name}…`);
    const res = await fetch('/prepare', { method: 'POST', body: f, headers: { 'content-type': 'application/octet-stream' } });
    const r = (await res.json()) as PreparedPicture & { error?: string };
    if (!res.ok || !r.pixels) {
      this.setStatus(`${f.name}: ${r.error ?? r.reason ?? 'no digit found'}`);
      return;
    }
    this.clearPad();
    this.padDirty = false;
    const pixels = Uint8Array.from(r.pixels);
    // show the prepared digit on the pad, as ink on paper; drawing starts afresh
    const small = new ImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const v = 255 - pixels[i];
      small.data.set([v, v, v, 255], 4 * i);
    }
    const tmp = el('canvas', { width: String(SIZE), height: String(SIZE) });
    tmp.getContext('2d')!.putImageData(small, 0, 0);
    this.padCtx.imageSmoothingEnabled = false;
    this.padCtx.drawImage(tmp, 0, 0, this.pad.width, this.pad.height);
    this.setStatus(`${f.name} (${r.width}×${r.height}), prepared by the server exactly as mnist-predict prepares it`);
    this.run(pixels);
  }

  /** Forward pass on a prepared 28×28 picture and a repaint of every layer. */
  run(pixels: Uint8Array): void {
    const t0 = performance.now();
    this.pixels = pixels;
    this.x = new Tensor([1, ...this.inShape], normalizeImage(pixels, this.info.input.mean, this.info.input.std));
    const ex = explain(this.model, this.x);
    this.ex = ex;
    const t1 = performance.now();
    this.paintAll(ex);
    const t2 = performance.now();
    this.times.push(t2 - t0);
    this.split.push([t1 - t0, t2 - t1]);
    document.body.dataset.updates = String(this.times.length);
    if (this.selected) this.showWork(this.selected);
  }

  private rerun(): void {
    if (this.pixels) this.run(this.pixels);
  }

  private paintAll(ex: Explanation): void {
    const [, ih, iw] = this.inShape;
    const inScale: Scale = { kind: 'grey', ...minMax(ex.input.values) };
    this.inputLegend.set(inScale);
    paint(this.inputCanvas, ex.input.values, 0, iw, ih, ih * iw, inScale);
    for (const v of this.layers) {
      const values = ex.layers[v.index].values;
      const scale = scaleOf(values);
      v.legend.set(scale);
      const g = v.geometry;
      v.canvases.forEach((cv, ch) => paint(cv, values, ch, g.w, g.h, g.strip ? g.n : g.n, scale));
    }
    this.paintOutput(ex);
  }

  private paintOutput(ex: Explanation): void {
    const classes = this.info.classes;
    const body = $('classes');
    if (!body.firstChild) {
      for (let i = 0; i < ex.logits.length; i++) {
        body.append(el('tr', { class: 'class-row', 'data-class': String(i) },
          el('th', { text: classes[i] ?? String(i) }), el('td', { class: 'num logit-v' }),
          el('td', { class: 'barcell logit' }, el('div', { class: 'axis' }), el('div', { class: 'b' })),
          el('td', { class: 'barcell prob' }, el('div', { class: 'b' })), el('td', { class: 'num prob-v' }), el('td', { class: 'mark' })));
      }
    }
    const maxAbs = ex.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    body.querySelectorAll<HTMLTableRowElement>('tr').forEach((tr, i) => {
      const z = ex.logits[i], p = ex.probs[i];
      const pred = i === ex.predicted;
      tr.classList.toggle('predicted', pred);
      tr.dataset.logit = String(z);
      tr.dataset.prob = String(p);
      tr.querySelector('.logit-v')!.textContent = fmtNum(z);
      tr.querySelector('.prob-v')!.textContent = `${(p * 100).toFixed(2)}%`;
      const half = (Math.abs(z) / maxAbs) * 50;
      const lb = tr.querySelector<HTMLElement>('.logit .b')!;
      lb.className = `b ${z >= 0 ? 'pos' : 'neg'}`;
      lb.style.left = `${z >= 0 ? 50 : 50 - half}%`;
      lb.style.width = `${half}%`;
      tr.querySelector<HTMLElement>('.prob .b')!.style.width = `${p * 100}%`;
      tr.querySelector('.mark')!.textContent = pred ? '◀ prediction' : '';
    });
    const name = classes[ex.predicted] ?? String(ex.predicted);
    const verdict = $('predicted');
    verdict.textContent = name;
    verdict.dataset.class = String(ex.predicted);
    $('verdict-p').textContent = `${(ex.probs[ex.predicted] * 100).toFixed(1)}%`;
  }

  // ---- clicks and hover ----

  private cellOf(cv: HTMLCanvasElement, ev: MouseEvent): { ch: number; row: number; col: number; index: number } | undefined {
    const r = cv.getBoundingClientRect();
    const col = Math.min(cv.width - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * cv.width)));
    const row = Math.min(cv.height - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * cv.height)));
    const ch = Number(cv.dataset.ch);
    const layer = cv.dataset.layer!;
    const v = /^\d+$/.test(layer) ? this.layers[Number(layer)] : undefined;
    const index = row * cv.width + col;
    if (v?.geometry.strip && index >= v.geometry.n) return undefined;
    return { ch, row, col, index };
  }

  private onCellClick(cv: HTMLCanvasElement, ev: MouseEvent): void {
    const cell = this.cellOf(cv, ev);
    if (!cell || !this.ex) return;
    const layer = Number(cv.dataset.layer);
    const strip = this.layers[layer].geometry.strip;
    this.selected = strip ? { layer, ch: 0, row: 0, col: cell.index } : { layer, ch: cell.ch, row: cell.row, col: cell.col };
    this.showWork(this.selected);
  }

  /** The value at a cell of layer i's output; for a strip, col is the unit. */
  private valueAt(i: number, ch: number, row: number, col: number): number {
    const v = this.layers[i];
    return this.ex!.layers[i].values[v.geometry.strip ? col : ch * v.geometry.n + row * v.geometry.w + col];
  }

  private layerInput(i: number): Tensor {
    if (i === 0) return this.x!;
    const prev = this.ex!.layers[i - 1];
    return new Tensor([1, ...prev.outputShape], prev.values);
  }

  private showWork(sel: { layer: number; ch: number; row: number; col: number }): void {
    if (!this.ex) return;
    const { layer: i, ch, row, col } = sel;
    const work = $('work');
    work.replaceChildren();
    const mod = this.model.layers[i];
    const value = this.valueAt(i, ch, row, col);
    const where = this.layers[i].geometry.strip ? `unit ${col}` : `channel ${ch}, row ${row}, col ${col}`;
    work.append(el('h2', { text: `${i} · ${mod.type}: ${where}` }));
    work.dataset.layer = String(i);
    work.dataset.type = mod.type;
    const mapValue = el('p', { class: 'mapvalue' }, 'the map shows ', el('span', { class: 'v', 'data-value': String(value), text: fmtNum(value) }));
    let target = i;
    if (mod.type === 'ReLU' && i > 0) {
      const before = this.valueAt(i - 1, ch, row, col);
      work.append(el('p', { class: 'relu', text: `ReLU: max(0, ${fmtNum(before)}) = ${fmtNum(Math.max(0, before))}, the cell below from layer ${i - 1}:` }));
      target = i - 1;
    }
    const tmod = this.model.layers[target];
    const x = this.layerInput(target);
    const marks: { cv: HTMLCanvasElement; y: number; x: number; h: number; w: number; cls: string }[] = [];
    const strip = this.layers[i].geometry.strip;
    this.layers[i].canvases.forEach((cv, c) => {
      if (strip) marks.push({ cv, y: Math.floor(col / cv.width), x: col % cv.width, h: 1, w: 1, cls: 'cell' });
      else if (c === ch) marks.push({ cv, y: row, x: col, h: 1, w: 1, cls: 'cell' });
    });
    // the window a conv or pool cell reads, outlined on the maps it reads from
    const inputCanvases = (chans: number[]) => chans.map((c) => (target === 0 ? this.inputCanvas : this.layers[target - 1].canvases[c])).filter(Boolean);
    if (tmod instanceof Conv2d) {
      const w = convCell(tmod, x, ch, row, col);
      work.append(convTable(w));
      const span = (k: number, d: number) => (k - 1) * d + 1;
      for (const cv of inputCanvases(w.channels.map((c) => c.channel))) {
        marks.push({ cv, y: w.y0, x: w.x0, h: span(w.kh, tmod.dilation[0]), w: span(w.kw, tmod.dilation[1]), cls: 'window' });
      }
    } else if (tmod instanceof MaxPool2d) {
      const w = poolCell(tmod, x, ch, row, col);
      work.append(poolTable(w));
      for (const cv of inputCanvases([ch])) marks.push({ cv, y: w.y0, x: w.x0, h: w.kh, w: w.kw, cls: 'window' });
    } else if (tmod instanceof Linear) work.append(linearTable(linearUnit(tmod, x.reshape([1, x.size]), col)));
    else work.append(el('p', { class: 'meta', text: `${mod.type} has no arithmetic of its own to show: it passes values through.` }));
    work.append(mapValue);
    work.hidden = false;
    this.layers[i].section.after(work);
    for (const m of document.querySelectorAll('.mark-box')) m.remove();
    for (const m of marks) {
      const fig = m.cv.parentElement!;
      const k = m.cv.clientWidth / m.cv.width;
      fig.classList.add('marked');
      fig.append(el('div', {
        class: `mark-box ${m.cls}`,
        style: `left:${m.cv.offsetLeft + m.cv.clientLeft + m.x * k}px;top:${m.cv.offsetTop + m.cv.clientTop + m.y * k}px;width:${m.w * k}px;height:${m.h * k}px`,
      }));
    }
  }

  private hookTip(): void {
    const tip = $('tip');
    document.addEventListener('mousemove', (ev) => {
      const cv = ev.target as HTMLElement;
      if (!(cv instanceof HTMLCanvasElement) || !/^\d+$/.test(cv.dataset.layer ?? '') || !this.ex) {
        tip.hidden = true;
        return;
      }
      const cell = this.cellOf(cv, ev);
      if (!cell) {
        tip.hidden = true;
        return;
      }
      const i = Number(cv.dataset.layer);
      const strip = this.layers[i].geometry.strip;
      const v = this.valueAt(i, cell.ch, cell.row, strip ? cell.index : cell.col);
      tip.textContent = `${i} · ${this.layers[i].type} ${strip ? `unit ${cell.index}` : `ch ${cell.ch} (row ${cell.row}, col ${cell.col})`}: ${fmtNum(v)}`;
      tip.hidden = false;
      tip.style.left = `${ev.clientX + 14}px`;
      tip.style.top = `${ev.clientY + 14}px`;
    });
  }

  // ---- training ----

  setParams(state: LiveState): void {
    loadParams(this.model, state.params);
    this.repaintWeights();
    this.rerun();
  }

  get net(): Sequential {
    return this.model;
  }
}

function explainWeights(model: Sequential, inShape: number[]): Pick<Explanation, 'kernels' | 'templates'> {
  // explain() on a blank input gives the weight pictures without a separate code path
  const ex = explain(model, Tensor.zeros([1, ...inShape]));
  return { kernels: ex.kernels, templates: ex.templates };
}

function minMax(v: ArrayLike<number>): { lo: number; hi: number } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  return hi > lo ? { lo, hi } : { lo, hi: lo + 1 };
}

function grid(values: ArrayLike<number>, w: number, cls: string, mark?: (i: number) => string): HTMLTableElement {
  const t = el('table', { class: `nums ${cls}` });
  for (let y = 0; y * w < values.length; y++) {
    const tr = el('tr');
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      tr.append(el('td', { class: mark?.(i) ?? '', text: values[i] === -Infinity ? '−∞' : fmtNum(values[i]) }));
    }
    t.append(tr);
  }
  return t;
}

function convTable(w: ConvWork): HTMLElement {
  const box = el('div', { class: 'worked conv' });
  box.append(el('p', { class: 'meta', text: `the ${w.kh}×${w.kw} window at input rows ${w.y0}…${w.y0 + w.kh - 1}, cols ${w.x0}…${w.x0 + w.kw - 1} of every input channel, times the kernel, element by element (grey: zero padding)` }));
  const shown = w.channels.slice(0, 32);
  for (const c of shown) {
    box.append(el('div', { class: 'chan', 'data-channel': String(c.channel) },
      el('span', { class: 'lbl', text: `in ch ${c.channel}` }),
      grid(c.window, w.kw, 'window', (i) => (c.padded[i] ? 'pad' : '')), el('span', { class: 'op', text: '×' }),
      grid(c.kernel, w.kw, 'kernel'), el('span', { class: 'op', text: '=' }),
      grid(c.products, w.kw, 'products'), el('span', { class: 'op', text: 'Σ' }),
      el('span', { class: 'csum', text: fmtNum(c.sum) })));
  }
  if (w.channels.length > shown.length) box.append(el('p', { class: 'meta', text: `… and ${w.channels.length - shown.length} more input channels, all in the sum` }));
  box.append(el('p', { class: 'total' },
    'sum of all products ', el('strong', { class: 'sum', 'data-value': String(w.sum), text: fmtNum(w.sum) }),
    ' + bias ', el('strong', { class: 'bias', 'data-value': String(w.bias), text: fmtNum(w.bias) }),
    ' = ', el('strong', { class: 'result', 'data-value': String(w.result), text: fmtNum(w.result) })));
  return box;
}

function poolTable(w: PoolWork): HTMLElement {
  return el('div', { class: 'worked pool' },
    el('p', { class: 'meta', text: `max over the ${w.kh}×${w.kw} window at rows ${w.y0}…${w.y0 + w.kh - 1}, cols ${w.x0}…${w.x0 + w.kw - 1} of channel ${w.channel} (−∞: padding); the winner is outlined` }),
    grid(w.window, w.kw, 'window', (i) => (i === w.winner ? 'win' : '')),
    el('p', { class: 'total' }, 'max = ', el('strong', { class: 'result', 'data-value': String(w.result), text: fmtNum(w.result) })));
}

function linearTable(w: LinearWork): HTMLElement {
  const t = el('table', { class: 'nums terms' }, el('tr', {}, el('th', { text: 'input' }), el('th', { text: 'value' }), el('th', { text: 'weight' }), el('th', { text: 'product' })));
  for (const r of w.top) t.append(el('tr', {}, el('td', { text: String(r.index) }), el('td', { text: fmtNum(r.input) }), el('td', { text: fmtNum(r.weight) }), el('td', { text: fmtNum(r.product) })));
  return el('div', { class: 'worked linear' },
    el('p', { class: 'meta', text: `the ${w.top.length} largest of ${w.inputs} terms weight × input for unit ${w.unit}` }), t,
    el('p', { class: 'total' }, `sum of all ${w.inputs} terms `, el('strong', { class: 'sum', 'data-value': String(w.sum), text: fmtNum(w.sum) }),
      ' + bias ', el('strong', { class: 'bias', 'data-value': String(w.bias), text: fmtNum(w.bias) }),
      ' = ', el('strong', { class: 'result', 'data-value': String(w.result), text: fmtNum(w.result) })));
}

// ---- the training view ----

class TrainingView {
  private points: LivePoint[] = [];
  private history: LiveEpoch[] = [];
  private states = 0;
  /** Curve points received as events (not those of the initial sync). */
  private pushed = 0;
  private kernelView?: { canvases: HTMLCanvasElement[]; shape: [number, number, number, number] };
  /** The snapshot drawn; -1 until the first. */
  private version = -1;
  private samples: { label: number; pixels: Uint8Array; canvases: HTMLCanvasElement[]; input: HTMLCanvasElement; caption: HTMLElement }[] = [];
  private sampleLayer: number;

  constructor(private readonly page: LivePage, private readonly info: LiveModel) {
    const t = info.training!;
    $('training').hidden = false;
    const layers = page.net.layers;
    // the maps shown per test digit: the first conv's output after its ReLU, when there is one
    const conv = layers.findIndex((l) => l.type === 'Conv2d');
    this.sampleLayer = conv >= 0 && layers[conv + 1]?.type === 'ReLU' ? conv + 1 : conv;
    const host = $('samples');
    for (const s of t.samples) {
      const pixels = decodeU8(s.b64);
      const input = mapCanvas('map sample-input', SIZE, SIZE, 56, 56);
      const row = el('div', { class: 'sample' });
      const caption = el('span', { class: 'sample-pred' });
      row.append(el('figure', {}, input, el('figcaption', { text: `label ${info.classes[s.label] ?? s.label}` })), caption);
      const canvases: HTMLCanvasElement[] = [];
      if (this.sampleLayer >= 0) {
        const shape = layerShape(page.net, info.input.shape, this.sampleLayer);
        const [c, h, w] = shape;
        const maps = el('div', { class: 'grid maps' });
        for (let ch = 0; ch < c; ch++) {
          const cv = mapCanvas('map sample-map', w, h, w * 2, h * 2);
          canvases.push(cv);
          maps.append(cv);
        }
        row.append(maps);
      }
      host.append(row);
      this.samples.push({ label: s.label, pixels, canvases, input, caption });
      paint(input, pixels, 0, SIZE, SIZE, SIZE * SIZE, { kind: 'grey', lo: 0, hi: 255 });
    }
    this.version = info.state.version; // the page loaded these weights already
    this.sync({ points: t.points, history: t.history, state: info.state, done: t.done });
    this.redrawSamples();
    const es = new EventSource('/events');
    es.addEventListener('sync', (ev) => this.sync(JSON.parse((ev as MessageEvent).data) as LiveSync));
    es.addEventListener('point', (ev) => {
      this.addPoint(JSON.parse((ev as MessageEvent).data) as LivePoint, true);
      $('training').dataset.pushed = String(++this.pushed);
    });
    es.addEventListener('epoch', (ev) => {
      this.addEpoch(JSON.parse((ev as MessageEvent).data) as LiveEpoch);
      this.drawCharts();
    });
    es.addEventListener('state', (ev) => this.setState(JSON.parse((ev as MessageEvent).data) as LiveState));
    es.addEventListener('done', (ev) => {
      this.finish(JSON.parse((ev as MessageEvent).data) as LiveDone);
      es.close();
    });
  }

  /** The whole run so far (on load, and first on every event stream, reconnections included). */
  private sync(s: LiveSync): void {
    this.points = [];
    this.history = [];
    $('epochs').replaceChildren();
    for (const p of s.points) this.addPoint(p, false);
    for (const e of s.history) this.addEpoch(e);
    this.drawCharts();
    this.setState(s.state);
    if (s.done) this.finish(s.done);
  }

  /** New weights: every layer, the kernels and the test digits are redrawn once per snapshot. */
  private setState(s: LiveState): void {
    if (s.version <= this.version) return;
    this.version = s.version;
    this.page.setParams(s);
    this.redrawSamples();
    $('training').dataset.states = String(++this.states);
  }

  private addPoint(p: LivePoint, draw: boolean): void {
    this.points.push(p);
    $('progress').textContent = `epoch ${p.epoch}/${this.info.training!.epochs} · batch ${p.batch}/${p.batches} · loss ${p.loss.toFixed(4)} · accuracy ${(p.accuracy * 100).toFixed(1)}%`;
    if (draw) this.drawCharts();
  }

  private addEpoch(e: LiveEpoch): void {
    this.history.push(e);
    $('epochs').append(el('tr', {}, el('td', { text: String(e.epoch) }), el('td', { text: e.trainLoss.toFixed(4) }), el('td', { text: `${(e.trainAccuracy * 100).toFixed(2)}%` }),
      el('td', { text: e.testLoss.toFixed(4) }), el('td', { text: `${(e.testAccuracy * 100).toFixed(2)}%` })));
  }

  private finish(d: LiveDone): void {
    $('progress').textContent = d.stopped
      ? `stopped by Ctrl-C during epoch ${d.epoch + 1}; the checkpoint is in ${this.info.training!.out}`
      : `finished ${d.epoch} epoch${d.epoch === 1 ? '' : 's'}; weights in ${this.info.training!.out}`;
    $('training').dataset.done = d.stopped ? 'stopped' : 'finished';
  }

  private drawCharts(): void {
    const t = this.info.training!;
    const total = Math.max(1, t.epochs * t.batches);
    const lossMax = Math.max(0.1, ...this.points.map((p) => p.loss), ...this.history.map((e) => e.testLoss));
    chart($('loss-chart'), total, this.points.map((p) => [p.step, p.loss / lossMax]), this.history.map((e) => [e.epoch * t.batches, e.testLoss / lossMax]), `loss (0 … ${fmtNum(lossMax)})`);
    chart($('acc-chart'), total, this.points.map((p) => [p.step, p.accuracy]), this.history.map((e) => [e.epoch * t.batches, e.testAccuracy]), 'accuracy (0 … 100%)');
    $('loss-chart').dataset.points = String(this.points.length);
  }

  redrawSamples(): void {
    const net = this.page.net;
    // the first conv's kernels, where edges form as the run goes on
    const k = explainWeights(net, this.info.input.shape).kernels;
    if (k) {
      const [o, c, kh, kw] = k.shape;
      const n = Math.min(o * c, 64);
      if (!this.kernelView) {
        const canvases = Array.from({ length: n }, () => mapCanvas('map train-kernel', kw, kh, kw * 8, kh * 8));
        $('train-kernels').append(el('h3', { text: `the first convolution's kernels [${k.shape.join(', ')}]` }), el('div', { class: 'grid kernels' }, ...canvases));
        this.kernelView = { canvases, shape: k.shape };
      }
      const scale = scaleOf(k.values.subarray(0, n * kh * kw));
      this.kernelView.canvases.forEach((cv, i) => paint(cv, k.values, i, kw, kh, kh * kw, scale));
    }
    for (const s of this.samples) {
      const x = new Tensor([1, ...this.info.input.shape], normalizeImage(s.pixels, this.info.input.mean, this.info.input.std));
      const ex = explain(net, x);
      s.caption.textContent = `→ ${this.info.classes[ex.predicted] ?? ex.predicted} (${(ex.probs[ex.predicted] * 100).toFixed(0)}%)`;
      s.caption.classList.toggle('wrong', ex.predicted !== s.label);
      if (this.sampleLayer < 0) continue;
      const l = ex.layers[this.sampleLayer];
      const [, h, w] = l.outputShape;
      const scale = scaleOf(l.values);
      s.canvases.forEach((cv, ch) => paint(cv, l.values, ch, w, h, h * w, scale));
    }
  }
}

function layerShape(model: Sequential, inShape: number[], i: number): number[] {
  let s = [1, ...inShape];
  for (let j = 0; j <= i; j++) s = model.layers[j].outputShape(s);
  return s.slice(1);
}

const SVG = 'http://www.w3.org/2000/svg';

/** A line chart of y in [0, 1] against the step, with the test values per epoch as dots. */
function chart(svg: HTMLElement, total: number, line: [number, number][], dots: [number, number][], label: string): void {
  const W = 520, H = 160, L = 8, T = 18, B = 6;
  const X = (s: number) => L + (s / total) * (W - 2 * L);
  const Y = (v: number) => T + (1 - Math.min(1, Math.max(0, v))) * (H - T - B);
  svg.replaceChildren();
  const add = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    svg.append(e);
    return e;
  };
  add('rect', { x: L, y: T, width: W - 2 * L, height: H - T - B, class: 'frame' });
  add('text', { x: L, y: 12, class: 'label' }, `${label}: line = training batches, dots = test set after each epoch`);
  if (line.length) add('polyline', { points: line.map(([s, v]) => `${X(s).toFixed(1)},${Y(v).toFixed(1)}`).join(' '), class: 'train' });
  for (const [s, v] of dots) add('circle', { cx: X(s), cy: Y(v), r: 4, class: 'test' });
}

/**
 * The engine's SIMD kernels where this browser runs them, else the plain TypeScript ones. They are
 * compiled before the first forward pass: Chromium refuses a synchronous compile of a module over
 * 4 KB on the main thread.
 */
async function chooseBackend(): Promise<string> {
  if (defaultBackend() === 'wasm') {
    try {
      await compileKernels();
      setBackend('wasm');
      return 'wasm';
    } catch (err) {
      console.warn('live page: the wasm kernels did not compile; running the js ones', err);
    }
  }
  setBackend('js');
  return 'js';
}

async function main(): Promise<void> {
  document.body.dataset.backend = await chooseBackend();
  const res = await fetch('/model.json');
  if (!res.ok) throw new Error(`live page: GET /model.json answered ${res.status}`);
  const info = (await res.json()) as LiveModel;
  const page = new LivePage(info);
  const w = window as unknown as { mnistLive: unknown };
  w.mnistLive = {
    page,
    times: page.times,
    run: (pixels: number[]) => page.run(Uint8Array.from(pixels)),
    last: () => ({ pixels: Array.from((page as unknown as { pixels?: Uint8Array }).pixels ?? []) }),
  };
  if (info.mode === 'train') new TrainingView(page, info);
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => {
  document.body.dataset.error = String(err);
  console.error(err);
});
