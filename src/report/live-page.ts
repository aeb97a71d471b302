// The live page's HTML shell (mnist-serve, mnist-train --serve): the drawing pad, empty places
// for the layers and the training view, which the bundled script (src/live/app.ts) fills from
// GET /model.json. Styled like the explain page, whose CSS it reuses.
import { EXPLAIN_CSS } from './explain-page.ts';
import { esc, htmlPage } from './html.ts';

/**
 * Scripts, data and events only from the server itself; nothing from anywhere else. The same
 * policy goes out as an HTTP header, which adds frame-ancestors (ignored in a <meta>).
 */
export const LIVE_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; " +
  "base-uri 'none'; form-action 'none'";

export function livePage(title: string): string {
  const body = `
<header class="top"><div><h1 id="title">${esc(title)}</h1><p class="sub" id="subtitle">loading the model…</p></div>
<div class="verdict">prediction <strong class="predicted-digit" id="predicted">–</strong><span id="verdict-p">draw a digit</span></div></header>
<section class="card" id="training" hidden>
<h2>Training</h2><p class="meta" id="progress">waiting for the first batches…</p>
<div class="row charts"><svg id="loss-chart" class="chart" viewBox="0 0 520 160" width="520" height="160"></svg>
<svg id="acc-chart" class="chart" viewBox="0 0 520 160" width="520" height="160"></svg></div>
<table class="bars epochs"><thead><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>test loss</th><th>test acc</th></tr></thead><tbody id="epochs"></tbody></table>
<h3>a few test digits through the current weights: the first convolution's maps and the prediction, refreshed every few seconds</h3>
<div id="samples"></div>
<div id="train-kernels"></div>
</section>
<section class="card inputs" id="input"><h2>Input</h2>
<p class="meta">draw with the mouse, a pen or a finger, or drop a PNG/JPEG on the pad; the picture is prepared as mnist-predict prepares one, then runs through every layer below</p>
<div class="row">
<div id="drop-zone"><canvas id="pad" width="280" height="280"></canvas>
<div class="pad-tools"><button id="clear" type="button">clear</button><label class="file">open a picture… <input id="file" type="file" accept="image/png,image/jpeg"></label></div>
<p class="meta" id="status">draw a digit</p></div>
<div><div id="input-legend"></div><div id="input-maps" class="row"></div></div>
</div></section>
<div id="layers"></div>
<section class="card work" id="work" hidden></section>
<section class="card output" id="output"><h2>Output: logits → softmax</h2>
<p class="meta">the last layer's scores, and the probabilities softmax turns them into</p>
<table class="bars"><thead><tr><th>class</th><th class="num">logit</th><th></th><th></th><th class="num">probability</th><th></th></tr></thead><tbody id="classes"></tbody></table></section>
<div id="tip" class="tip" role="tooltip" hidden></div>`;
  return htmlPage({ title: `mnist-ts live: ${title}`, css: EXPLAIN_CSS + LIVE_CSS, body, csp: LIVE_CSP, scriptSrc: '/app.js' });
}

const LIVE_CSS = `
#pad { width: 280px; height: 280px; border: 2px solid var(--line); border-radius: 6px; background: #fff; cursor: crosshair; touch-action: none; display: block; }
.pad-tools { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.pad-tools button, .pad-tools .file { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 5px; background: var(--card); cursor: pointer; }
.pad-tools input[type=file] { display: none; }
canvas.fmap, canvas.strip { cursor: pointer; }
.work { border: 2px solid var(--accent); }
.worked .chan { display: flex; align-items: center; gap: 6px; margin: 4px 0; flex-wrap: wrap; }
.worked .lbl { width: 64px; color: var(--muted); font-size: 12px; }
.worked .op { font-size: 16px; color: var(--muted); }
.worked .csum { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
table.nums { border-collapse: collapse; font: 11px ui-monospace, Menlo, Consolas, monospace; }
table.nums td, table.nums th { border: 1px solid var(--line); padding: 1px 4px; text-align: right; min-width: 38px; }
table.nums td.pad { color: #aaa; background: #f3f4f6; }
table.nums td.win { outline: 2px solid var(--accent); font-weight: 700; }
table.nums.kernel td { background: #fff7ed; }
.total { font-family: ui-monospace, Menlo, Consolas, monospace; margin: 8px 0 2px; }
.total strong { color: var(--accent); }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
.chart .frame { fill: none; stroke: var(--line); }
.chart .label { font-size: 11px; fill: var(--muted); }
.chart polyline.train { fill: none; stroke: #2563eb; stroke-width: 1.5; }
.chart circle.test { fill: var(--accent); }
.sample { display: flex; align-items: center; gap: 10px; margin: 6px 0; }
.sample .grid { gap: 3px; }
.sample-pred { min-width: 80px; font-weight: 600; }
.sample-pred.wrong { color: var(--accent); }
table.epochs { margin: 8px 0; }
.marked { position: relative; }
.mark-box { position: absolute; pointer-events: none; box-sizing: border-box; }
.mark-box.cell { outline: 2px solid var(--accent); outline-offset: 0; }
.mark-box.window { outline: 2px solid #f59e0b; }
`;
