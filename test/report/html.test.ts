import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import {
  DIVERGING, SEQUENTIAL, colorAt, downscale, esc, fileDataUri, float32Base64, fmtNum, htmlPage, jsonForScript, pngDataUri, scaleFor,
} from '../../src/report/html.ts';
import { decodeFloat32 } from './helpers.ts';

describe('escaping', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(esc(42)).toBe('42');
  });

  it('keeps embedded JSON from closing its script element, and still parses to the same value', () => {
    const v = { name: '</script><script>alert(1)</script>', amp: 'a&b', ls: '\u2028' };
    const s = jsonForScript(v);
    expect(s).not.toMatch(/<|>|&|\u2028/);
    expect(JSON.parse(s)).toEqual(v);
  });
});

describe('float32Base64', () => {
  it('round-trips values exactly, also from a view into a larger buffer', () => {
    const big = Float32Array.from([9, 1.5, -0.1, 3.4e38, 1e-45, -0, 7]);
    const view = big.subarray(1, 6);
    const back = decodeFloat32(float32Base64(view));
    expect(Array.from(back)).toEqual(Array.from(view));
    expect(float32Base64(Float32Array.from([1]))).toBe(Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
  });
});

describe('pngDataUri', () => {
  it('encodes grey pixels that decode back to the same bytes', () => {
    const data = Uint8Array.from({ length: 6 }, (_, i) => i * 50);
    const uri = pngDataUri({ width: 3, height: 2, channels: 1, data });
    expect(uri.startsWith('data:image/png;base64,')).toBe(true);
    const png = PNG.sync.read(Buffer.from(uri.slice(22), 'base64'));
    expect([png.width, png.height]).toEqual([3, 2]);
    for (let i = 0; i < 6; i++) expect([png.data[4 * i], png.data[4 * i + 1], png.data[4 * i + 2], png.data[4 * i + 3]]).toEqual([i * 50, i * 50, i * 50, 255]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => pngDataUri({ width: 3, height: 2, channels: 3, data: new Uint8Array(6) })).toThrow(/3x2x3 needs 18 bytes, got 6/);
  });

  it('embeds an encoded file as is, and only for image MIME types', () => {
    expect(fileDataUri(Uint8Array.from([1, 2, 3]), 'image/jpeg')).toBe('data:image/jpeg;base64,AQID');
    expect(() => fileDataUri(new Uint8Array(1), 'text/html')).toThrow(/not an image MIME type/);
  });
});

describe('downscale', () => {
  it('averages f x f blocks, with partial blocks at the right and bottom edges', () => {
    // 5x3 grey, factor 2 -> 3x2
    const data = Uint8Array.from([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
    const d = downscale({ width: 5, height: 3, channels: 1, data }, 3);
    expect([d.width, d.height]).toEqual([3, 2]);
    expect(Array.from(d.data)).toEqual([(0 + 2 + 10 + 12) / 4, (4 + 6 + 14 + 16) / 4, (8 + 18) / 2, (20 + 22) / 2, (24 + 26) / 2, 28]);
  });

  it('keeps channels apart and leaves small images alone', () => {
    const rgba = Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 255]);
    expect(Array.from(downscale({ width: 2, height: 1, channels: 4, data: rgba }, 1).data)).toEqual([128, 0, 128, 255]);
    const small = { width: 2, height: 1, channels: 4 as const, data: rgba };
    expect(downscale(small, 2)).toBe(small);
  });
});

describe('colour scales', () => {
  it('interpolates between stops and clamps outside [0, 1]', () => {
    expect(colorAt(SEQUENTIAL, 0)).toEqual(SEQUENTIAL[0]);
    expect(colorAt(SEQUENTIAL, 1)).toEqual(SEQUENTIAL[4]);
    expect(colorAt(DIVERGING, 0.5)).toEqual(DIVERGING[2]);
    expect(colorAt([[0, 0, 0], [100, 200, 50]], 0.5)).toEqual([50, 100, 25]);
    expect(colorAt(SEQUENTIAL, -3)).toEqual(SEQUENTIAL[0]);
    expect(colorAt(SEQUENTIAL, NaN)).toEqual(SEQUENTIAL[0]);
  });

  it('uses a symmetric diverging scale for signed values and a sequential one from 0 otherwise', () => {
    expect(scaleFor([-1, 0.5, 3])).toEqual({ kind: 'diverging', lo: -3, hi: 3 });
    expect(scaleFor([-4, 1])).toEqual({ kind: 'diverging', lo: -4, hi: 4 });
    expect(scaleFor([0, 2, 5])).toEqual({ kind: 'sequential', lo: 0, hi: 5 });
    expect(scaleFor([0, 0])).toEqual({ kind: 'sequential', lo: 0, hi: 1 });
  });

  it('formats numbers briefly', () => {
    expect(fmtNum(5.88712)).toBe('5.887');
    expect(fmtNum(-0.000123456)).toBe('-1.23e-4');
    expect(fmtNum(0)).toBe('0');
  });
});

describe('htmlPage', () => {
  it('forbids network access with a Content-Security-Policy and escapes the title', () => {
    const html = htmlPage({ title: 'a <b>', css: '', body: '<p>x</p>', data: { k: '</script>' } });
    expect(html).toContain(`content="default-src 'none'; img-src data:;`);
    expect(html).toContain('<title>a &lt;b&gt;</title>');
    expect(html.match(/<\/script>/g)?.length).toBe(1);
  });
});
