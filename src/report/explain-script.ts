// The explain page's inline script (browser JavaScript, kept as a string): paints every
// <canvas data-src> from the embedded float32 data, shows a cell's value on hover and
// enlarges a map on click. No network, no libraries.

export const EXPLAIN_SCRIPT = String.raw`
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('data').textContent);
  const blocks = {};
  for (const [key, b] of Object.entries(data.blocks)) {
    const s = atob(b.b64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    blocks[key] = Object.assign({}, b, { values: new Float32Array(bytes.buffer) });
  }

  function color(scale, v) {
    const stops = data.colormaps[scale.kind];
    let t = (v - scale.lo) / (scale.hi - scale.lo);
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    const x = t * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i, a = stops[i], b = stops[i + 1];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
  }

  // A canvas shows map number data-ch of its block: block.h x block.w cells, block.n of them real.
  function paint(canvas) {
    const b = blocks[canvas.dataset.src];
    if (!b) throw new Error('explain page: no data block ' + canvas.dataset.src);
    const ch = Number(canvas.dataset.ch || 0);
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(b.w, b.h);
    const off = ch * b.n;
    for (let i = 0; i < b.w * b.h; i++) {
      if (i >= b.n) continue; // strip padding stays transparent
      const c = color(b.scale, b.values[off + i]);
      img.data[4 * i] = c[0];
      img.data[4 * i + 1] = c[1];
      img.data[4 * i + 2] = c[2];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function fmt(v) {
    if (v === 0) return '0';
    const a = Math.abs(v);
    return a >= 1e-3 && a < 1e5 ? String(+v.toPrecision(4)) : v.toExponential(2);
  }

  const tip = document.getElementById('tip');
  function cellAt(canvas, ev) {
    const b = blocks[canvas.dataset.src];
    const r = canvas.getBoundingClientRect();
    const x = Math.min(b.w - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * b.w)));
    const y = Math.min(b.h - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * b.h)));
    const i = y * b.w + x;
    if (i >= b.n) return null;
    const v = b.values[Number(canvas.dataset.ch || 0) * b.n + i];
    const where = b.strip ? 'unit ' + i : '(row ' + y + ', col ' + x + ')';
    return (canvas.dataset.label || '') + ' ' + where + ': ' + fmt(v);
  }
  function onMove(ev) {
    const text = cellAt(ev.currentTarget, ev);
    if (text === null) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
    const pad = 14;
    const w = tip.offsetWidth;
    const left = ev.clientX + pad + w > window.innerWidth ? ev.clientX - pad - w : ev.clientX + pad;
    tip.style.left = Math.max(0, left) + 'px';
    tip.style.top = ev.clientY + pad + 'px';
  }
  function hook(canvas) {
    paint(canvas);
    canvas.addEventListener('mousemove', onMove);
    canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  }

  const zoom = document.getElementById('zoom');
  const zoomCanvas = document.getElementById('zoom-canvas');
  const zoomTitle = document.getElementById('zoom-title');
  function enlarge(src) {
    const b = blocks[src.dataset.src];
    zoomCanvas.width = b.w;
    zoomCanvas.height = b.h;
    zoomCanvas.dataset.src = src.dataset.src;
    zoomCanvas.dataset.ch = src.dataset.ch || '0';
    zoomCanvas.dataset.label = src.dataset.label || '';
    const side = Math.min(window.innerWidth, window.innerHeight) * 0.7;
    const k = side / Math.max(b.w, b.h);
    zoomCanvas.style.width = Math.round(b.w * k) + 'px';
    zoomCanvas.style.height = Math.round(b.h * k) + 'px';
    zoomTitle.textContent = src.dataset.label || '';
    paint(zoomCanvas);
    zoom.hidden = false;
  }
  zoomCanvas.addEventListener('mousemove', onMove);
  zoomCanvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  zoom.addEventListener('click', (ev) => { if (ev.target !== zoomCanvas) zoom.hidden = true; });
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') zoom.hidden = true; });

  for (const c of document.querySelectorAll('canvas[data-src]')) {
    if (c === zoomCanvas) continue;
    hook(c);
    if (c.classList.contains('zoomable')) c.addEventListener('click', () => enlarge(c));
  }
  document.body.dataset.painted = 'true';
})();
`;
