import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.ts';
import { MAX_IDX_BYTES, decompress, parseImages, parseLabels, parsePair } from '../../src/data/idx.ts';
import { MnistError } from '../../src/engine/errors.ts';
import { idx, images, labels } from './idx-fixtures.ts';

const names = { images: 'a-images', labels: 'a-labels' };

describe('parseImages / parseLabels', () => {
  it('reads a raw images file: header dims and pixels in order', () => {
    const body = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => i * 10);
    const p = parseImages(images(3, 2, 4, body), 'f');
    expect([p.count, p.rows, p.cols]).toEqual([3, 2, 4]);
    expect([...p.images]).toEqual([...body]);
  });

  it('reads a gzip file detected by its magic bytes, not its name', () => {
    const raw = labels([5, 0, 4, 1, 9]);
    const gz = gzipSync(raw);
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const p = parseLabels(gz, 'labels-without-gz-suffix');
    expect(p.count).toBe(5);
    expect([...p.labels]).toEqual([5, 0, 4, 1, 9]);
    expect(parseImages(gzipSync(images(2)), 'x').images).toEqual(parseImages(images(2), 'x').images);
  });

  it('names the file, the expected and the found magic, and guesses the kind', () => {
    expect(() => parseImages(labels([1, 2]), 't10k-images-idx3-ubyte')).toThrow(
      't10k-images-idx3-ubyte: expected magic 2051, found 2049 (is this a labels file?)',
    );
    expect(() => parseLabels(images(1), 'l')).toThrow('l: expected magic 2049, found 2051 (is this an images file?)');
    expect(() => parseLabels(idx(0x12345678, [1]), 'l')).toThrow(/^l: expected magic 2049, found 305419896$/);
    const err = (() => {
      try {
        parseImages(labels([1]), 'f');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DataError);
    expect(err).toBeInstanceOf(MnistError);
  });

  it('rejects a truncated body and trailing bytes with exact byte counts', () => {
    const good = images(2, 3, 3); // 16 + 18 bytes
    expect(() => parseImages(good.subarray(0, 30), 'f')).toThrow('f: expected 34 bytes (header 2 x 3 x 3), found 30 (truncated by 4 bytes)');
    const long = new Uint8Array(good.length + 3);
    long.set(good);
    expect(() => parseImages(long, 'f')).toThrow('f: expected 34 bytes (header 2 x 3 x 3), found 37 (3 extra bytes)');
    expect(() => parseLabels(labels([1, 2, 3]).subarray(0, 10), 'l')).toThrow('l: expected 11 bytes (header 3), found 10');
  });

  it('rejects a header cut short', () => {
    expect(() => parseImages(images(1).subarray(0, 10), 'f')).toThrow('f: expected an IDX header of 16 bytes, found a file of 10 bytes');
    expect(() => parseLabels(new Uint8Array(0), 'l')).toThrow('l: expected an IDX header of 8 bytes, found a file of 0 bytes');
  });

  it('checks image dimensions', () => {
    expect(() => parseImages(images(2, 28, 27), 'f', { rows: 28, cols: 28 })).toThrow('f: expected 28 x 28 images, found 28 x 27');
    expect(() => parseImages(images(2, 0, 28), 'f')).toThrow('f: expected non-empty images, found 0 x 28');
    expect(parseImages(images(2, 5, 6), 'f').rows).toBe(5);
  });

  it('checks label values against the number of classes', () => {
    expect(() => parseLabels(labels([1, 9, 10, 3]), 'l', 10)).toThrow('l: expected labels 0..9, found 10 at index 2');
    expect(parseLabels(labels([0, 9]), 'l', 10).count).toBe(2);
  });
});

describe('decompress', () => {
  it('leaves raw bytes alone', () => {
    const raw = labels([1]);
    expect(decompress(raw, 'f')).toBe(raw);
  });

  it('fails fast on a gzip bomb at the 64 MB cap', () => {
    // nine 8 MB gzip members of zeros: 72 MB decompressed, a few tens of KB compressed
    const member = gzipSync(new Uint8Array(8 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 9 }, () => member));
    expect(bomb.length).toBeLessThan(200_000);
    expect(MAX_IDX_BYTES).toBe(64 * 1024 * 1024);
    expect(() => decompress(bomb, 'bomb.gz')).toThrow('bomb.gz: expected at most 64 MB after gunzip, found more (a gzip bomb?)');
    expect(() => decompress(gzipSync(new Uint8Array(2000)), 'f', 1000)).toThrow(DataError);
  });

  it('reports a corrupt or cut gzip stream', () => {
    const gz = gzipSync(images(4));
    expect(() => decompress(gz.subarray(0, gz.length - 20), 'cut.gz')).toThrow(/^cut.gz: expected gzip data, found a corrupt stream \(unexpected end of file\)$/);
    const bad = Uint8Array.from(gz);
    bad[2] = 99; // compression method
    expect(() => decompress(bad, 'bad.gz')).toThrow(/bad.gz: expected gzip data, found a corrupt stream/);
  });
});

describe('parsePair', () => {
  const expect28 = { rows: 28, cols: 28, numClasses: 10 };

  it('parses a matching pair', () => {
    const p = parsePair(images(3), gzipSync(labels([7, 2, 1])), names, expect28);
    expect([p.count, p.rows, p.cols, p.images.length]).toEqual([3, 28, 28, 3 * 784]);
    expect([...p.labels]).toEqual([7, 2, 1]);
  });

  it('reports a count mismatch naming both files', () => {
    expect(() => parsePair(images(3), labels([1, 2]), names, expect28)).toThrow(
      'a-labels: expected 3 labels (one per image in a-images), found 2',
    );
  });

  it('recognises a swapped pair', () => {
    expect(() => parsePair(labels([1, 2]), images(2), names, expect28)).toThrow(
      'a-images and a-labels are swapped: expected images (magic 2051) then labels (magic 2049), found labels then images',
    );
  });
});
