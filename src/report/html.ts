// Building blocks of the self-contained HTML pages: escaping, embedded data, inline PNGs, colour
// maps and the page shell. Pure string builders; the commands write the result to disk.
import { PNG } from 'pngjs';

export { DIVERGING, SEQUENTIAL, colorAt, fmtNum, rgbCss, scaleFor, type Rgb, type Scale } from './colors.ts';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON that is safe inside <script type="application/json">: "<", ">" and "&" become \u escapes
 * so "</script>" in a class name cannot end the element; U+2028/9 are escaped for old parsers.
 */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Float32 values as base64 of their little-endian bytes: exact and about 5.3 characters a value. */
export function float32Base64(v: Float32Array): string {
  const le = new Float32Array(v); // a fresh copy is aligned and owns its buffer
  const bytes = Buffer.from(le.buffer, le.byteOffset, le.byteLength);
  if (!isLittleEndian()) {
    for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  }
  return bytes.toString('base64');
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}

export interface Pixels {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA) bytes per pixel, row-major. */
  channels: 1 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}

/** Encodes pixels as a PNG data: URI for an <img> (no file, no network). */
export function pngDataUri(p: Pixels): string {
  const n = p.width * p.height;
  if (p.data.length !== n * p.channels) {
    throw new RangeError(`pngDataUri: ${p.width}x${p.height}x${p.channels} needs ${n * p.channels} bytes, got ${p.data.length}`);
  }
  const png = new PNG({ width: p.width, height: p.height });
  for (let i = 0; i < n; i++) {
    const s = i * p.channels, d = i * 4;
    if (p.channels === 1) {
      png.data[d] = png.data[d + 1] = png.data[d + 2] = p.data[s];
      png.data[d + 3] = 255;
    } else {
      png.data[d] = p.data[s];
      png.data[d + 1] = p.data[s + 1];
      png.data[d + 2] = p.data[s + 2];
      png.data[d + 3] = p.channels === 4 ? p.data[s + 3] : 255;
    }
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/**
 * Box-averages pixels so the longer side is at most maxSide (a photo shrunk for a page); returns
 * the input unchanged when it already fits.
 */
export function downscale(p: Pixels, maxSide: number): Pixels {
  const f = Math.ceil(Math.max(p.width, p.height) / maxSide);
  if (f <= 1) return p;
  const w = Math.ceil(p.width / f), h = Math.ceil(p.height / f), c = p.channels;
  const out = new Uint8Array(w * h * c);
  const sum = new Float64Array(c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      sum.fill(0);
      let n = 0;
      for (let yy = y * f; yy < Math.min(p.height, (y + 1) * f); yy++) {
        for (let xx = x * f; xx < Math.min(p.width, (x + 1) * f); xx++, n++) {
          const s = (yy * p.width + xx) * c;
          for (let k = 0; k < c; k++) sum[k] += p.data[s + k];
        }
      }
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = Math.round(sum[k] / n);
    }
  }
  return { width: w, height: h, channels: c, data: out };
}

/** An already-encoded image file (PNG, JPEG, ...) as a data: URI. */
export function fileDataUri(bytes: Uint8Array, mime: string): string {
  if (!/^image\/[a-z0-9.+-]+$/.test(mime)) throw new RangeError(`fileDataUri: not an image MIME type: ${mime}`);
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

export function fmtShapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtPct(v: number, digits = 2): string {
  return `${(v * 100).toFixed(digits)}%`;
}

/**
 * The page shell. The Content-Security-Policy forbids every network fetch, so a stray external
 * reference fails loudly (a console error) instead of silently needing the network.
 */
export function htmlPage(o: { title: string; css: string; body: string; script?: string; data?: unknown; csp?: string; scriptSrc?: string }): string {
  const csp = o.csp ?? "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="mnist-ts">',
    `<title>${esc(o.title)}</title>`,
    `<style>${BASE_CSS}${o.css}</style>`,
    '</head>',
    '<body>',
    o.body,
    o.data === undefined ? '' : `<script type="application/json" id="data">${jsonForScript(o.data)}</script>`,
    o.script ? `<script>${o.script}</script>` : '',
    o.scriptSrc ? `<script src="${esc(o.scriptSrc)}"></script>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const BASE_CSS = `
:root { --fg: #1d2330; --muted: #5b6474; --line: #d9dde5; --bg: #f6f7f9; --card: #fff; --accent: #c2410c; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-weight: 600; }
h3 { font-size: 13px; margin: 10px 0 6px; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0 0 14px; }
.meta { color: var(--muted); font-size: 12px; margin: 2px 0 8px; }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
canvas, img.px { image-rendering: pixelated; image-rendering: crisp-edges; }
.legend { display: flex; align-items: center; gap: 6px; font-size: 11px; color: var(--muted); margin: 0 0 8px; }
.legend span { white-space: nowrap; }
.legend .bar { width: 160px; height: 10px; border: 1px solid var(--line); }
`;
