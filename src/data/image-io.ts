// Decoding untrusted PNG/JPEG bytes to RGBA (headers checked before any pixel is decoded, so a
// file claiming 100000×100000 is refused at once; turned upright as an EXIF orientation says) and
// encoding greyscale PNGs. Pure: bytes in, bytes out.
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MnistError } from '../engine/errors.ts';

/** The bytes are not an image we can read: wrong format, truncated, corrupt, or too large. */
export class ImageError extends MnistError {}

/** Refuse images above this many pixels before decoding (a 50 MP RGBA image is 200 MB decoded). */
export const MAX_PIXELS = 50_000_000;
/** Refuse files above this size before reading them. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

/** 8-bit RGBA pixels, row-major, 4 bytes per pixel (straight, not premultiplied, alpha). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DecodedImage extends RgbaImage {
  format: 'png' | 'jpeg';
  /** What the header said, for messages: "PNG 8-bit RGBA, interlaced". */
  description: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_COLOR_TYPES: Record<number, { name: string; channels: number; depths: number[] }> = {
  0: { name: 'grey', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grey+alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

/** Names the format from the first bytes: 'png', 'jpeg', another known image format, or undefined. */
export function sniffFormat(buf: Uint8Array): string | undefined {
  if (buf.length >= 8 && PNG_SIGNATURE.every((b, i) => buf[i] === b)) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  const ascii = String.fromCharCode(...buf.subarray(0, 12));
  if (ascii.startsWith('GIF8')) return 'GIF';
  if (ascii.startsWith('BM')) return 'BMP';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'WebP';
  if (ascii.startsWith('II*\0') || ascii.startsWith('MM\0*')) return 'TIFF';
  if (ascii.slice(4, 12) === 'ftypavif' || ascii.slice(4, 12) === 'ftypheic') return 'AVIF/HEIC';
  if (/^\s*<(\?xml|svg)/i.test(ascii)) return 'SVG';
  return undefined;
}

/** Decodes a PNG or JPEG to 8-bit RGBA; throws ImageError with a one-line reason for anything else. */
export function decodeImage(buf: Uint8Array): DecodedImage {
  if (buf.length === 0) throw new ImageError('empty file');
  if (buf.length > MAX_FILE_BYTES) throw new ImageError(`file is ${mb(buf.length)}; the limit is ${mb(MAX_FILE_BYTES)}`);
  const format = sniffFormat(buf);
  if (format === 'png') return decodePng(buf);
  if (format === 'jpeg') return decodeJpeg(buf);
  if (format) throw new ImageError(`${format} images are not supported (only PNG and JPEG)`, 'convert it to PNG first');
  throw new ImageError('not a PNG or JPEG image');
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function checkSize(kind: string, width: number, height: number): void {
  if (width < 1 || height < 1) throw new ImageError(`corrupt ${kind}: header gives a size of ${width}×${height}`);
  if (width * height > MAX_PIXELS) {
    throw new ImageError(
      `${kind} header claims ${width}×${height} pixels (${((width * height) / 1e6).toFixed(0)} megapixels); the limit is ${MAX_PIXELS / 1e6} megapixels`,
      'scale the image down first',
    );
  }
}

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
  idatBytes: number;
  /** The file has an eXIf chunk (EXIF metadata, which may say how to turn the picture). */
  exif: boolean;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 of a chunk's type and data: zlib's when this Node has it (20.15+), else a table. */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Walks the chunk list without decompressing anything: IHDR first and sane, every length inside the file, IEND present. */
export function readPngHeader(buf: Uint8Array): PngHeader {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = (o: number) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 33) throw new ImageError('truncated PNG: the file ends inside the header');
  if (dv.getUint32(8) !== 13 || type(12) !== 'IHDR') throw new ImageError('corrupt PNG: the first chunk is not a valid IHDR');
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const depth = buf[24];
  const colorType = buf[25];
  const ct = PNG_COLOR_TYPES[colorType];
  if (!ct) throw new ImageError(`corrupt PNG: unknown colour type ${colorType}`);
  if (!ct.depths.includes(depth)) throw new ImageError(`corrupt PNG: bit depth ${depth} is not allowed for ${ct.name} images`);
  if (buf[26] !== 0 || buf[27] !== 0) throw new ImageError('corrupt PNG: unknown compression or filter method');
  if (buf[28] > 1) throw new ImageError(`corrupt PNG: unknown interlace method ${buf[28]}`);
  checkSize('PNG', width, height);
  let off = 8;
  let idatBytes = 0;
  let sawEnd = false, exif = false;
  while (off + 8 <= buf.length) {
    const len = dv.getUint32(off);
    const t = type(off + 4);
    if (off + 12 + len > buf.length) throw new ImageError(`truncated PNG: the file ends inside a ${JSON.stringify(t)} chunk`);
    if (crc32(buf.subarray(off + 4, off + 8 + len)) !== dv.getUint32(off + 8 + len)) {
      throw new ImageError(`corrupt PNG: checksum mismatch in the ${JSON.stringify(t)} chunk (the file is damaged)`);
    }
    if (t === 'IDAT') idatBytes += len;
    if (t === 'eXIf') exif = true;
    off += 12 + len;
    if (t === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (!sawEnd) throw new ImageError('truncated PNG: no IEND chunk (the file ends early)');
  if (idatBytes === 0) throw new ImageError('corrupt PNG: no image data (IDAT)');
  return { width, height, depth, colorType, interlaced: buf[28] === 1, idatBytes, exif };
}

/** Bytes the inflated image data must have: one filter byte per row, per Adam7 pass when interlaced. */
function inflatedSize(h: PngHeader): number {
  const bpp = PNG_COLOR_TYPES[h.colorType].channels * h.depth;
  const rowBytes = (w: number) => (w > 0 ? 1 + Math.ceil((w * bpp) / 8) : 0);
  if (!h.interlaced) return rowBytes(h.width) * h.height;
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((h.width - x0) / dx);
    const rows = Math.ceil((h.height - y0) / dy);
    if (w > 0 && rows > 0) n += rowBytes(w) * rows;
  }
  return n;
}

function decodePng(buf: Uint8Array): DecodedImage {
  const h = readPngHeader(buf);
  const ct = PNG_COLOR_TYPES[h.colorType];
  const description = `PNG ${h.depth}-bit ${ct.name}${h.interlaced ? ', interlaced' : ''}`;
  // Inflate once here, bounded by the size the header implies: pngjs bounds only non-interlaced
  // files and accepts some damaged streams, so a small file could expand without limit (a "zip
  // bomb") or decode to garbage.
  const expected = inflatedSize(h);
  let inflated: Uint8Array;
  try {
    inflated = zlib.inflateSync(concatIdat(buf, h.idatBytes), { maxOutputLength: expected + 1 });
  } catch (err) {
    throw new ImageError(`corrupt PNG: ${pngReason((err as Error).message)}`);
  }
  if (inflated.length > expected) throw new ImageError('corrupt PNG: the image data is larger than the header says');
  if (inflated.length < expected) throw new ImageError('truncated PNG: the image data ends early');
  let png: { width: number; height: number; data: Buffer };
  try {
    png = pngFromInflated(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), inflated);
  } catch (err) {
    throw new ImageError(`corrupt PNG: ${pngReason((err as Error).message)}`);
  }
  const data = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  return upright(buf, h.exif, { width: png.width, height: png.height, data, format: 'png', description });
}

// pngjs's own steps after inflating (the version is pinned in package.json): its chunk parser
// (palette, transparency, header checks), unfiltering, unpacking and conversion to 8-bit RGBA.
const cjsRequire = createRequire(import.meta.url);
type PngMeta = { width: number; height: number; data: Buffer; palette?: unknown; transColor?: unknown; alpha?: boolean; [k: string]: unknown };
const PngParser = cjsRequire('pngjs/lib/parser.js') as new (options: object, deps: object) => { start(): void };
const SyncReader = cjsRequire('pngjs/lib/sync-reader.js') as new (buf: Buffer) => { read(length: number, f: (b: Buffer) => void): void; process(): void };
const filterSync = cjsRequire('pngjs/lib/filter-parse-sync.js') as { process(data: Buffer, meta: PngMeta): Buffer };
const bitmapper = cjsRequire('pngjs/lib/bitmapper.js') as { dataToBitMap(data: Buffer, meta: PngMeta): Buffer };
const formatNormaliser = cjsRequire('pngjs/lib/format-normaliser.js') as (data: Buffer, meta: PngMeta, skipRescale?: boolean) => Buffer;

/**
 * What PNG.sync.read returns (pngjs's parser-sync.js, step for step), from the image data this
 * module has already inflated within the header's bounds: PNG.sync.read would inflate it all
 * a second time (a third of the time a 12-megapixel PNG takes).
 */
function pngFromInflated(buf: Buffer, inflated: Uint8Array): PngMeta {
  let err: Error | undefined;
  let meta: PngMeta | undefined;
  const reader = new SyncReader(buf);
  const parser = new PngParser({}, {
    read: reader.read.bind(reader),
    error: (e: Error) => (err = e),
    metadata: (m: PngMeta) => (meta = m),
    gamma: () => {},
    palette: (p: unknown) => (meta!.palette = p),
    transColor: (c: unknown) => (meta!.transColor = c),
    inflateData: () => {},
    simpleTransparency: () => (meta!.alpha = true),
  });
  parser.start();
  reader.process();
  if (err) throw err;
  if (!meta) throw new Error('no header');
  const data = Buffer.from(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  meta.data = formatNormaliser(bitmapper.dataToBitMap(filterSync.process(data, meta), meta), meta, undefined);
  return meta;
}

function concatIdat(buf: Uint8Array, total: number): Uint8Array {
  const out = new Uint8Array(total);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 8;
  let pos = 0;
  while (off + 8 <= buf.length) {
    const len = dv.getUint32(off);
    if (buf[off + 4] === 0x49 && buf[off + 5] === 0x44 && buf[off + 6] === 0x41 && buf[off + 7] === 0x54) {
      out.set(buf.subarray(off + 8, off + 8 + len), pos);
      pos += len;
    }
    off += 12 + len;
  }
  return out;
}

function pngReason(msg: string): string {
  if (/crc error/i.test(msg)) return 'checksum mismatch (the file is damaged)';
  if (/maxOutputLength|buffer.*(larger|exceed)|Cannot create a Buffer/i.test(msg)) return 'the image data is larger than the header says';
  if (/unexpected end|read requests|ran out of data|unexpected end of file/i.test(msg)) return 'the image data ends early (truncated)';
  if (/unrecognised content|extra data/i.test(msg)) return 'unexpected data after the image (the file is damaged)';
  if (/not in palette/i.test(msg)) return 'a pixel refers to a colour the palette does not have';
  if (/incorrect header check|invalid (block|distance|code|stored)|inflate|zlib|too far back/i.test(msg)) return 'the compressed image data is damaged';
  return msg.replace(/\s+/g, ' ').trim();
}

/**
 * Reads the frame header (SOFn) of a JPEG without decoding: its size, whether it carries EXIF
 * metadata (an APP1 "Exif" segment), and whether the data has an end marker.
 */
export function readJpegHeader(buf: Uint8Array): { width: number; height: number; components: number; progressive: boolean; exif: boolean } {
  let off = 2, exif = false;
  let frame: { width: number; height: number; components: number; progressive: boolean } | undefined;
  while (off < buf.length) {
    if (buf[off] !== 0xff) throw new ImageError(`corrupt JPEG: expected a marker at byte ${off}`);
    while (buf[off] === 0xff && off < buf.length) off++; // fill bytes
    if (off >= buf.length) break;
    const marker = buf[off++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) break;
    if (off + 2 > buf.length) break;
    const len = (buf[off] << 8) | buf[off + 1];
    if (len < 2) throw new ImageError(`corrupt JPEG: segment length ${len} at byte ${off}`);
    if (off + len > buf.length) throw new ImageError('truncated JPEG: the file ends inside a header segment');
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 8) throw new ImageError('corrupt JPEG: frame header too short');
      const height = (buf[off + 3] << 8) | buf[off + 4];
      const width = (buf[off + 5] << 8) | buf[off + 6];
      frame = { width, height, components: buf[off + 7], progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce };
      if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
        throw new ImageError(`unsupported JPEG: ${marker === 0xc3 || marker === 0xc7 ? 'lossless' : 'arithmetic-coded or hierarchical'} JPEG (SOF${marker - 0xc0})`, 'save it as a baseline JPEG or a PNG');
      }
    }
    // APP1 "Exif\0": EXIF metadata, which may say how to turn the picture
    if (marker === 0xe1 && len >= 8 && buf[off + 2] === 0x45 && buf[off + 3] === 0x78 && buf[off + 4] === 0x69 && buf[off + 5] === 0x66 && buf[off + 6] === 0) exif = true;
    if (marker === 0xda) {
      // the entropy-coded data follows; a complete file has an EOI marker somewhere after it
      if (!frame) throw new ImageError('corrupt JPEG: image data starts before any frame header');
      let end = buf.length - 2;
      while (end > off && !(buf[end] === 0xff && buf[end + 1] === 0xd9)) end--;
      if (end <= off) throw new ImageError('truncated JPEG: no end-of-image marker (the file ends early)');
      return { ...frame, exif };
    }
    off += len;
  }
  throw new ImageError(frame ? 'truncated JPEG: no image data' : 'corrupt JPEG: no frame header');
}

/**
 * Runs `f` (synchronous) with `new Int32Array(64)` handing out 64-number views of larger zeroed
 * buffers instead of one ArrayBuffer each. jpeg-js (pinned at 0.4.4) allocates every 8×8 block of
 * coefficients that way, 280,000 of them for a 12-megapixel photo, and each ArrayBuffer of its own
 * costs an allocation outside the heap and work for the garbage collector: with views the decode
 * takes about a quarter less time and half the memory. Every other use of the constructor is
 * passed through, and the global is restored however `f` ends.
 */
export function withPooledBlocks<T>(f: () => T): T {
  const Real = globalThis.Int32Array;
  const CHUNK = 1 << 18; // bytes: 1024 blocks
  let pool = new ArrayBuffer(CHUNK), used = 0;
  function Pooled(this: unknown, a?: unknown): Int32Array {
    if (!new.target) throw new TypeError("Constructor Int32Array requires 'new'");
    if (a === 64 && arguments.length === 1) {
      if (used === CHUNK) (pool = new ArrayBuffer(CHUNK)), (used = 0);
      used += 256;
      return new Real(pool, used - 256, 64);
    }
    return Reflect.construct(Real, Array.prototype.slice.call(arguments)) as Int32Array;
  }
  Object.setPrototypeOf(Pooled, Real);
  Pooled.prototype = Real.prototype;
  globalThis.Int32Array = Pooled as unknown as Int32ArrayConstructor;
  try {
    return f();
  } finally {
    globalThis.Int32Array = Real;
  }
}

function decodeJpeg(buf: Uint8Array): DecodedImage {
  const h = readJpegHeader(buf);
  checkSize('JPEG', h.width, h.height);
  if (h.components !== 1 && h.components !== 3 && h.components !== 4) throw new ImageError(`unsupported JPEG: ${h.components} colour components`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = withPooledBlocks(() => jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 }));
  } catch (err) {
    const msg = String((err as Error).message ?? err);
    if (/maxMemoryUsageInMB|maxResolutionInMP/.test(msg)) throw new ImageError(`JPEG too large to decode (${msg})`);
    throw new ImageError(`corrupt JPEG: ${msg.replace(/\s+/g, ' ').trim()}`);
  }
  if (img.width !== h.width || img.height !== h.height) throw new ImageError('corrupt JPEG: decoded size does not match the header');
  const kind = h.components === 1 ? 'greyscale' : h.components === 4 ? 'CMYK' : 'colour';
  return upright(buf, h.exif, { ...img, format: 'jpeg', description: `JPEG ${kind}${h.progressive ? ', progressive' : ''}` });
}

/** What turning a picture by each EXIF orientation (2–8) does, for its description. */
const ORIENTATIONS: Record<number, string> = {
  2: 'mirrored left to right',
  3: 'turned 180°',
  4: 'mirrored top to bottom',
  5: 'mirrored across its diagonal',
  6: 'turned 90° clockwise',
  7: 'mirrored across its other diagonal',
  8: 'turned 90° anticlockwise',
};

/**
 * The picture the way a viewer shows it. A phone usually stores a photo as its sensor saw it and
 * records in the EXIF metadata how to turn it; shown as stored, a digit would lie on its side.
 */
function upright(buf: Uint8Array, hasExif: boolean, img: DecodedImage): DecodedImage {
  const o = hasExif ? exifOrientation(buf) : 1;
  if (o === 1) return img;
  return { ...img, ...orientImage(img, o), description: `${img.description}, ${ORIENTATIONS[o]} as its EXIF orientation (${o}) says` };
}

/** The EXIF orientation (1–8) in the file's metadata; 1 (as stored) when it has none or it cannot be read. */
function exifOrientation(buf: Uint8Array): number {
  // loaded only for pictures with EXIF metadata: it takes longer to load than most pictures to read
  const ExifReader = cjsRequire('exifreader') as typeof import('exifreader');
  try {
    const tags = ExifReader.load(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), { includeTags: { exif: ['Orientation'] } });
    const v = tags.Orientation?.value;
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 8 ? v : 1;
  } catch {
    // damaged metadata does not make the pixels unreadable: they are used as stored
    return 1;
  }
}

/**
 * The picture turned by EXIF orientation `o` (1–8): output pixel (X, Y) is stored pixel
 * base + X·dx + Y·dy, orientations 5–8 swapping width and height. Written in 64×64 tiles: a
 * turned row reads a stored column, one cache line per pixel otherwise.
 */
export function orientImage(img: RgbaImage, o: number): RgbaImage {
  const { width: w, height: h } = img;
  if (!Number.isInteger(o) || o < 1 || o > 8) throw new ImageError(`orientImage: EXIF orientation ${o} is not 1 to 8`);
  const last = (h - 1) * w, right = w - 1;
  const [base, dx, dy] = ([
    [0, 1, w], [right, -1, w], [last + right, -1, -w], [last, 1, -w],
    [0, w, 1], [last, -w, 1], [last + right, -w, -1], [right, w, -1],
  ] as const)[o - 1];
  const W = o >= 5 ? h : w, H = o >= 5 ? w : h;
  // one pixel per 32-bit word (RGBA order is kept whatever the byte order)
  const src = img.data.byteOffset % 4 === 0 ? new Uint32Array(img.data.buffer, img.data.byteOffset, w * h) : new Uint32Array(img.data.slice().buffer, 0, w * h);
  const out = new Uint32Array(W * H);
  const T = 64;
  for (let Y0 = 0; Y0 < H; Y0 += T) {
    const Y1 = Math.min(H, Y0 + T);
    for (let X0 = 0; X0 < W; X0 += T) {
      const X1 = Math.min(W, X0 + T);
      for (let Y = Y0; Y < Y1; Y++) {
        let i = base + Y * dy + X0 * dx;
        for (let k = Y * W + X0, end = Y * W + X1; k < end; k++, i += dx) out[k] = src[i];
      }
    }
  }
  return { width: W, height: H, data: new Uint8Array(out.buffer) };
}

/** Encodes 8-bit greyscale pixels (row-major) as a PNG. */
export function encodeGreyPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height) throw new ImageError(`encodeGreyPng: ${pixels.length} pixels for ${width}×${height}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}
