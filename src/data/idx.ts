// IDX file parser (the MNIST container format): bytes in, typed arrays out, raw or gzip.
// Pure apart from zlib; every error names the file, what was expected and what was found.
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.ts';

export const IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions [count, rows, cols]
export const LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension [count]

/** Decompression cap: the largest real file (train images) is 47 MB, so a bigger output is a bomb. */
export const MAX_IDX_BYTES = 64 * 1024 * 1024;

export interface IdxImages { images: Uint8Array; count: number; rows: number; cols: number }
export interface IdxLabels { labels: Uint8Array; count: number }

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Returns the IDX bytes, gunzipping first when the data starts with the gzip magic (1f 8b). */
export function decompress(bytes: Uint8Array, file: string, maxBytes = MAX_IDX_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataError(`${file}: expected at most ${mb(maxBytes)} after gunzip, found more (a gzip bomb?)`);
    }
    throw new DataError(`${file}: expected gzip data, found a corrupt stream (${err.message})`);
  }
}

function readMagic(bytes: Uint8Array): number | undefined {
  return bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) : undefined;
}

function kindOf(magic: number | undefined): string {
  return magic === IMAGES_MAGIC ? 'images' : magic === LABELS_MAGIC ? 'labels' : 'unknown';
}

function readHeader(bytes: Uint8Array, file: string, magic: number, dims: number): number[] {
  const headerBytes = 4 + 4 * dims;
  const found = readMagic(bytes);
  if (found !== undefined && found !== magic) {
    const other = found === IMAGES_MAGIC ? ' (is this an images file?)' : found === LABELS_MAGIC ? ' (is this a labels file?)' : '';
    throw new DataError(`${file}: expected magic ${magic}, found ${found}${other}`);
  }
  if (bytes.length < headerBytes) {
    throw new DataError(`${file}: expected an IDX header of ${headerBytes} bytes, found a file of ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  return Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
}

function checkLength(bytes: Uint8Array, file: string, header: number, dims: number[]): void {
  const expected = header + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const diff = bytes.length < expected ? `truncated by ${expected - bytes.length}` : `${bytes.length - expected} extra`;
    throw new DataError(
      `${file}: expected ${expected} bytes (header ${dims.join(' x ')}), found ${bytes.length} (${diff} bytes)`,
    );
  }
}

/** Parses an images file (magic 2051), gzipped or not; `expect` pins the image size (28 x 28 for MNIST). */
export function parseImages(bytes: Uint8Array, file: string, expect?: { rows: number; cols: number }): IdxImages {
  return imagesOf(decompress(bytes, file), file, expect);
}

/** Parses a labels file (magic 2049), gzipped or not; with `numClasses`, every label must be below it. */
export function parseLabels(bytes: Uint8Array, file: string, numClasses?: number): IdxLabels {
  return labelsOf(decompress(bytes, file), file, numClasses);
}

function imagesOf(bytes: Uint8Array, file: string, expect?: { rows: number; cols: number }): IdxImages {
  const [count, rows, cols] = readHeader(bytes, file, IMAGES_MAGIC, 3);
  if (rows === 0 || cols === 0 || (expect && (rows !== expect.rows || cols !== expect.cols))) {
    const want = expect ? `${expect.rows} x ${expect.cols}` : 'non-empty';
    throw new DataError(`${file}: expected ${want} images, found ${rows} x ${cols}`);
  }
  checkLength(bytes, file, 16, [count, rows, cols]);
  return { images: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, count * rows * cols), count, rows, cols };
}

function labelsOf(bytes: Uint8Array, file: string, numClasses?: number): IdxLabels {
  const [count] = readHeader(bytes, file, LABELS_MAGIC, 1);
  checkLength(bytes, file, 8, [count]);
  const labels = new Uint8Array(bytes.buffer, bytes.byteOffset + 8, count);
  if (numClasses !== undefined) {
    const bad = labels.findIndex((l) => l >= numClasses);
    if (bad >= 0) throw new DataError(`${file}: expected labels 0..${numClasses - 1}, found ${labels[bad]} at index ${bad}`);
  }
  return { labels, count };
}

/**
 * Parses the two files of one split (each decompressed once, if gzipped) and checks they belong
 * together: a swapped pair and a count mismatch get their own messages.
 */
export function parsePair(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  files: { images: string; labels: string },
  expect?: { rows: number; cols: number; numClasses: number },
): IdxImages & IdxLabels {
  imageBytes = decompress(imageBytes, files.images);
  labelBytes = decompress(labelBytes, files.labels);
  const mi = readMagic(imageBytes);
  const ml = readMagic(labelBytes);
  if (mi === LABELS_MAGIC && ml === IMAGES_MAGIC) {
    throw new DataError(
      `${files.images} and ${files.labels} are swapped: expected images (magic ${IMAGES_MAGIC}) then labels ` +
        `(magic ${LABELS_MAGIC}), found ${kindOf(mi)} then ${kindOf(ml)}`,
    );
  }
  const img = imagesOf(imageBytes, files.images, expect);
  const lbl = labelsOf(labelBytes, files.labels, expect?.numClasses);
  if (img.count !== lbl.count) {
    throw new DataError(
      `${files.labels}: expected ${img.count} labels (one per image in ${files.images}), found ${lbl.count}`,
    );
  }
  return { ...img, ...lbl };
}

function mb(n: number): string {
  return `${Math.round(n / (1024 * 1024))} MB`;
}
