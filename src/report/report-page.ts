// The --report page of mnist-train and mnist-eval: loss and accuracy curves per epoch, the
// confusion matrix as a heat-map, the misclassified test digits and, for a run with --augment, a
// few training digits as augmentation draws them. Static HTML and SVG (no script).
import type { EpochRecord } from '../weights/checkpoint.ts';
import { colorAt, esc, fmtInt, fmtNum, fmtPct, htmlPage, pngDataUri, rgbCss, type Rgb } from './html.ts';
import { collectMisclassified, type LabelledImages, type Misclassified } from './metrics.ts';

export interface ReportData {
  /** "mnist-train" or "mnist-eval": says where the numbers came from. */
  command: string;
  /** e.g. "cnn · Conv2d(1, 8, …) → … · 12,345 parameters". */
  modelLabel?: string;
  /** Extra facts shown under the title, in order ([label, value]). */
  facts?: readonly (readonly [string, string])[];
  classes: readonly string[];
  epochs: readonly EpochRecord[];
  evaluation: { loss: number; accuracy: number; count: number; confusion: Int32Array };
  /** Which split the evaluation ran on, e.g. "test (10,000 images)". */
  splitLabel?: string;
  misclassified: readonly Misclassified[];
  /** How many were misclassified in all (items may hold fewer). */
  misclassifiedTotal: number;
  rows: number;
  cols: number;
  /** A few training images as stored and as --augment draws them; absent for a run without. */
  augmented?: AugmentedDigits;
}

/** data/augment.ts's augmentShowcase() with its mode: intensities 0..1, rows × cols each. */
export interface AugmentedDigits {
  mode: string;
  samples: readonly { index: number; label: number; stored: ArrayLike<number>; drawn: readonly ArrayLike<number>[] }[];
}

/** White to dark blue: reads well with dark numbers on light cells and white on dark ones. */
const BLUES: readonly Rgb[] = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
/** White to dark orange, for the off-diagonal (error) cells. */
const ORANGES: readonly Rgb[] = [[255, 245, 235], [253, 208, 162], [253, 141, 60], [217, 72, 1], [127, 39, 4]];
const TRAIN_COLOR = '#2563eb';
const TEST_COLOR = '#c2410c';

interface Series {
  name: string;
  color: string;
  values: readonly number[];
}

/** An SVG line chart of per-epoch values; each point carries a <title> with its value. */
function lineChart(o: { id: string; title: string; epochs: readonly number[]; series: Series[]; lo: number; hi: number; fmt: (v: number) => string; tip: (v: number) => string }): string {
  const W = 560, H = 270, L = 56, R = 16, T = 30, B = 40;
  const pw = W - L - R, ph = H - T - B;
  const n = o.epochs.length;
  const x = (i: number) => L + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => T + ph - ((v - o.lo) / (o.hi - o.lo || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg class="curve" id="${esc(o.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`);
  out.push(`<text x="${L}" y="18" class="ctitle">${esc(o.title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = o.lo + ((o.hi - o.lo) * k) / 4;
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" class="grid"/><text x="${L - 6}" y="${yy}" class="ytick">${esc(o.fmt(v))}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 12));
  o.epochs.forEach((e, i) => {
    if (i % step === 0 || i === n - 1) out.push(`<text x="${x(i).toFixed(1)}" y="${H - B + 16}" class="xtick">${e}</text>`);
  });
  out.push(`<text x="${L + pw / 2}" y="${H - 6}" class="xlabel">epoch</text>`);
  o.series.forEach((s, si) => {
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      out.push(
        `<circle class="pt" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}, epoch ${o.epochs[i]}: ${o.tip(v)}`)}</title></circle>`,
      );
    });
    const lx = W - R - 150 + si * 75;
    out.push(`<rect x="${lx}" y="9" width="12" height="3" fill="${s.color}"/><text x="${lx + 16}" y="14" class="key">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** The smallest of 1, 2, 2.5, 4, 5, 8 × 10^k that is >= v, so the four grid steps read as round numbers. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 4, 5, 8, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function curves(epochs: readonly EpochRecord[]): string {
  if (epochs.length === 0) {
    return `<section class="card" id="curves"><h2>Training curves</h2><p class="meta">no per-epoch history was recorded for these weights</p></section>`;
  }
  const ep = epochs.map((e) => e.epoch);
  const losses = epochs.flatMap((e) => [e.trainLoss, e.testLoss]).filter(Number.isFinite);
  const accs = epochs.flatMap((e) => [e.trainAccuracy, e.testAccuracy]).filter(Number.isFinite);
  const lossHi = niceCeil(Math.max(...losses, 1e-6));
  const accLo = Math.max(0, Math.floor((Math.min(...accs, 1) - 0.01) * 20) / 20);
  const loss = lineChart({
    id: 'loss-chart', title: 'loss (cross-entropy)', epochs: ep, lo: 0, hi: lossHi, fmt: (v) => fmtNum(+v.toPrecision(3)), tip: (v) => v.toFixed(4),
    series: [{ name: 'train', color: TRAIN_COLOR, values: epochs.map((e) => e.trainLoss) }, { name: 'test', color: TEST_COLOR, values: epochs.map((e) => e.testLoss) }],
  });
  const acc = lineChart({
    id: 'accuracy-chart', title: 'accuracy', epochs: ep, lo: accLo, hi: 1, fmt: (v) => fmtPct(v, accLo >= 0.9 ? 2 : 1), tip: (v) => fmtPct(v),
    series: [{ name: 'train', color: TRAIN_COLOR, values: epochs.map((e) => e.trainAccuracy) }, { name: 'test', color: TEST_COLOR, values: epochs.map((e) => e.testAccuracy) }],
  });
  const rows = epochs
    .map((e) => `<tr><td>${e.epoch}</td><td>${e.trainLoss.toFixed(4)}</td><td>${fmtPct(e.trainAccuracy)}</td><td>${e.testLoss.toFixed(4)}</td><td>${fmtPct(e.testAccuracy)}</td><td>${fmtNum(e.lr)}</td><td>${e.seconds.toFixed(1)} s</td></tr>`)
    .join('');
  return (
    `<section class="card" id="curves"><h2>Training curves</h2><p class="meta">per epoch: training loss/accuracy are running means over the epoch, test ones are measured after it</p>` +
    `<div class="row">${loss}${acc}</div>` +
    `<details><summary>per-epoch numbers</summary><table class="epochs"><thead><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>test loss</th><th>test acc</th><th>lr</th><th>time</th></tr></thead><tbody>${rows}</tbody></table></details></section>`
  );
}

function confusionMatrix(d: ReportData): string {
  const k = d.classes.length;
  const cm = d.evaluation.confusion;
  if (cm.length !== k * k) throw new RangeError(`reportPage: confusion matrix has ${cm.length} cells for ${k} classes`);
  let maxError = 0;
  for (let t = 0; t < k; t++) for (let p = 0; p < k; p++) if (t !== p) maxError = Math.max(maxError, cm[t * k + p]);
  const head = d.classes.map((c, j) => `<th class="pred" data-class="${j}">${esc(c)}</th>`).join('');
  const body = d.classes
    .map((c, t) => {
      let total = 0;
      for (let p = 0; p < k; p++) total += cm[t * k + p];
      const cells = d.classes
        .map((pc, p) => {
          const v = cm[t * k + p];
          const share = total ? v / total : 0;
          // correct answers by their share of the row; errors against the largest error, so a
          // handful of confusions stands out instead of fading into white
          const bg = t === p ? colorAt(BLUES, share) : v === 0 ? ([255, 255, 255] as const) : colorAt(ORANGES, v / maxError);
          const dark = t === p ? share > 0.5 : v > 0.6 * maxError;
          const tip = `true ${c}, predicted ${pc}: ${v} (${fmtPct(share, 1)} of the ${total} ${c})`;
          return `<td class="cell${t === p ? ' diag' : ''}" style="background:${rgbCss(bg)};color:${dark ? '#fff' : '#1d2330'}" title="${esc(tip)}">${v || ''}</td>`;
        })
        .join('');
      const recall = total ? cm[t * k + t] / total : NaN;
      return `<tr><th class="true" data-class="${t}">${esc(c)}</th>${cells}<td class="recall">${Number.isFinite(recall) ? fmtPct(recall, 1) : '–'}</td></tr>`;
    })
    .join('');
  const legend =
    `<div class="legend"><span>correct (share of the row):</span><span>0%</span>` +
    `<span class="bar" style="background: linear-gradient(to right, ${BLUES.map(rgbCss).join(', ')})"></span><span>100%</span>` +
    `<span class="gap"></span><span>errors:</span><span>0</span>` +
    `<span class="bar" style="background: linear-gradient(to right, ${ORANGES.map(rgbCss).join(', ')})"></span><span>${maxError}</span></div>`;
  return (
    `<section class="card" id="confusion"><h2>Confusion matrix</h2><p class="meta">rows: true class, columns: predicted class; a cell counts the ${esc(d.splitLabel ?? 'evaluation')} images of its row predicted as its column</p>` +
    `${legend}<table class="confusion"><thead><tr><th class="corner">true \\ predicted</th>${head}<th>recall</th></tr></thead><tbody>${body}</tbody></table></section>`
  );
}

function misclassified(d: ReportData): string {
  const figs = d.misclassified
    .map((m) => {
        const t = d.classes[m.label] ?? String(m.label), p = d.classes[m.predicted] ?? String(m.predicted);
      return digitFigure(d, {
        cls: 'miss', pixels: m.pixels, title: `image ${m.index}: true ${t}, predicted ${p}`, alt: `true ${t}, predicted ${p}`,
        caption: `<span class="t">${esc(t)}</span> → <span class="p">${esc(p)}</span>`,
        attrs: ` data-index="${m.index}" data-true="${m.label}" data-predicted="${m.predicted}"`,
      });
    })
    .join('');
  const shown = d.misclassified.length < d.misclassifiedTotal ? `the first ${fmtInt(d.misclassified.length)} of ` : '';
  const note = d.misclassifiedTotal === 0 ? 'none: every image was classified correctly' : `${shown}${fmtInt(d.misclassifiedTotal)} misclassified images, in dataset order; caption: true → predicted`;
  return `<section class="card" id="misclassified"><h2>Misclassified digits</h2><p class="meta">${esc(note)}</p><div class="misses">${figs}</div></section>`;
}

/** Intensities 0..1 as grey bytes, for pngDataUri. */
const greyBytes = (v: ArrayLike<number>): Uint8Array => Uint8Array.from(v, (x) => Math.round(Math.min(1, Math.max(0, x)) * 255));

/** A digit as an <img> drawn twice its size, in a <figure> of class `cls` (captions are HTML). */
function digitFigure(d: ReportData, f: { cls: string; pixels: Uint8Array; title: string; alt: string; caption: string; attrs?: string }): string {
  const uri = pngDataUri({ width: d.cols, height: d.rows, channels: 1, data: f.pixels });
  return (
    `<figure class="${f.cls}"${f.attrs ?? ''} title="${esc(f.title)}"><img class="px" src="${uri}" width="${d.cols * 2}" height="${d.rows * 2}" alt="${esc(f.alt)}">` +
    `<figcaption>${f.caption}</figcaption></figure>`
  );
}

function augmentedDigits(d: ReportData, a: AugmentedDigits): string {
  const draws = a.samples[0]?.drawn.length ?? 0;
  const rows = a.samples
    .map((s) => {
      const name = d.classes[s.label] ?? String(s.label);
      const what = `training image ${s.index} (${name})`;
      const stored = digitFigure(d, { cls: 'aug stored', pixels: greyBytes(s.stored), title: `${what} as stored`, alt: `${what} as stored`, caption: `<span class="t">${esc(name)}</span> stored` });
      const drawn = s.drawn
        .map((v, k) => digitFigure(d, { cls: 'aug drawn', pixels: greyBytes(v), title: `${what}, draw ${k + 1}`, alt: `${what}, draw ${k + 1}`, caption: `draw ${k + 1}` }))
        .join('');
      return `<div class="aug-row" data-index="${s.index}" data-label="${s.label}">${stored}<span class="arrow">→</span>${drawn}</div>`;
    })
    .join('');
  const note =
    `--augment ${a.mode}: the first ${a.samples.length} training images as stored, then ${draws} draws of the augmentation ` +
    `(every epoch draws each image afresh; these come from the run's seed, as --show-augment prints them)`;
  return `<section class="card" id="augmented"><h2>What the model was fed</h2><p class="meta">${esc(note)}</p>${rows}</section>`;
}

/** Renders the training / evaluation report page. */
export function reportPage(d: ReportData): string {
  const ev = d.evaluation;
  const facts: (readonly [string, string])[] = [
    [`${d.splitLabel ?? 'test'} accuracy`, fmtPct(ev.accuracy)],
    [`${d.splitLabel ?? 'test'} loss`, fmtNum(+ev.loss.toFixed(4))],
    ['images', fmtInt(ev.count)],
    ['errors', fmtInt(d.misclassifiedTotal)],
    ...(d.epochs.length ? [['epochs', String(d.epochs.length)] as const] : []),
    ...(d.facts ?? []),
  ];
  const factHtml = facts.map(([k, v]) => `<div class="fact"><span>${esc(k)}</span><strong>${esc(v)}</strong></div>`).join('');
  const body = [
    `<header><h1>${esc(d.command)} report</h1>${d.modelLabel ? `<p class="sub model">${esc(d.modelLabel)}</p>` : ''}<div class="facts">${factHtml}</div></header>`,
    curves(d.epochs),
    ...(d.augmented && d.augmented.samples.length ? [augmentedDigits(d, d.augmented)] : []),
    `<div class="row two">${confusionMatrix(d)}${misclassified(d)}</div>`,
  ].join('\n');
  return htmlPage({ title: `${d.command} report: ${fmtPct(ev.accuracy)} accuracy`, css: REPORT_CSS, body });
}

const REPORT_CSS = `
.model { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.facts { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 14px; }
.fact { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 6px 14px; }
.fact span { display: block; color: var(--muted); font-size: 11px; }
.fact strong { font-size: 18px; }
svg.curve { background: #fff; }
svg.curve .ctitle { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg.curve .grid { stroke: #e5e7eb; }
svg.curve .ytick { font-size: 11px; fill: var(--muted); text-anchor: end; dominant-baseline: middle; }
svg.curve .xtick, svg.curve .xlabel { font-size: 11px; fill: var(--muted); text-anchor: middle; }
svg.curve .key { font-size: 11px; fill: var(--fg); }
table.epochs { border-collapse: collapse; font-size: 12px; margin-top: 6px; }
table.epochs td, table.epochs th { padding: 2px 10px; text-align: right; font-variant-numeric: tabular-nums; }
.row.two > .card { flex: 1 1 460px; }
table.confusion { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
table.confusion th { padding: 3px 6px; color: var(--muted); font-weight: 600; }
table.confusion td.cell { width: 40px; height: 30px; text-align: center; border: 1px solid #fff; }
table.confusion td.diag { font-weight: 700; }
table.confusion td.recall { padding-left: 8px; color: var(--muted); }
table.confusion th.corner { font-size: 10px; font-weight: 400; }
.legend .gap { width: 14px; }
.misses { display: flex; flex-wrap: wrap; gap: 6px; }
figure.miss { margin: 0; text-align: center; }
figure.miss img { display: block; background: #000; border: 1px solid var(--line); }
figure.miss figcaption { font-size: 11px; }
figure.miss .t { color: #15803d; font-weight: 600; }
figure.miss .p { color: #b91c1c; font-weight: 600; }
.aug-row { display: flex; align-items: center; gap: 6px; margin: 4px 0; }
.aug-row .arrow { color: var(--muted); padding: 0 4px; }
figure.aug { margin: 0; text-align: center; }
figure.aug img { display: block; background: #000; border: 1px solid var(--line); }
figure.aug figcaption { font-size: 11px; color: var(--muted); }
figure.aug .t { color: var(--fg); font-weight: 600; }
`;

export interface TrainingReportInput {
  command: string;
  modelLabel?: string;
  facts?: readonly (readonly [string, string])[];
  classes: readonly string[];
  epochs: readonly EpochRecord[];
  /** evaluate() of the final model on `split`, in the split's order. */
  evaluation: { loss: number; accuracy: number; count: number; confusion: Int32Array; predictions: Int32Array };
  split: LabelledImages;
  splitLabel?: string;
  /** Most misclassified digits drawn (default 100). */
  maxMisclassified?: number;
  /** Training digits as --augment draws them (mnist-train with augmentation only). */
  augmented?: AugmentedDigits;
}

/** The report page from what a command already has: the epoch history, an Evaluation and the split. */
export function trainingReportHtml(o: TrainingReportInput): string {
  const mis = collectMisclassified(o.split, o.evaluation.predictions, o.maxMisclassified ?? 100);
  return reportPage({
    command: o.command, modelLabel: o.modelLabel, facts: o.facts, classes: o.classes, epochs: o.epochs,
    evaluation: o.evaluation, splitLabel: o.splitLabel, misclassified: mis.items, misclassifiedTotal: mis.total,
    rows: o.split.rows, cols: o.split.cols, augmented: o.augmented,
  });
}
