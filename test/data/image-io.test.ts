import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it, vi } from 'vitest';
import { ImageError, decodeImage, encodeGreyPng, orientImage, readJpegHeader, readPngHeader, sniffFormat, withPooledBlocks } from '../../src/data/image-io.ts';
import { PNG_SIGNATURE, chunk, encodePng, exifTiff, ihdr, jpegWithExif, pngWithExif } from './image-fixtures.ts';

// A 13×9 test pattern (odd sizes exercise partial bytes and Adam7 edge passes).
const W = 13, H = 9;
const grey = (x: number, y: number) => (x * 19 + y * 27) % 256;
const rgb = (x: number, y: number): [number, number, number] => [(x * 20) % 256, (y * 28) % 256, (x * y * 7) % 256];
const alpha = (x: number, y: number) => (x + y) % 3 === 0 ? 0 : 128 + ((x * 13 + y) % 128);

function samples(channels: number, f: (x: number, y: number) => number[]): number[] {
  const out: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.push(...f(x, y).slice(0, channels));
  return out;
}

function pixel(img: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const p = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(p, p + 4));
}

function expectAll(img: { width: number; height: number; data: Uint8Array }, f: (x: number, y: number) => number[]): void {
  expect([img.width, img.height]).toEqual([W, H]);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expect(pixel(img, x, y), `pixel (${x}, ${y})`).toEqual(f(x, y));
}

describe('decodeImage: PNG colour types and bit depths', () => {
  for (const interlace of [false, true]) {
    const tag = interlace ? ' (Adam7 interlaced)' : '';

    it(`8-bit grey${tag}`, () => {
      const img = decodeImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: samples(1, (x, y) => [grey(x, y)]), interlace }));
      expectAll(img, (x, y) => [grey(x, y), grey(x, y), grey(x, y), 255]);
      expect(img.description).toBe(`PNG 8-bit grey${interlace ? ', interlaced' : ''}`);
    });

    for (const bits of [1, 2, 4] as const) {
      it(`${bits}-bit grey is scaled to 0..255${tag}`, () => {
        const max = (1 << bits) - 1;
        const v = (x: number, y: number) => (x + 2 * y) % (max + 1);
        const img = decodeImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: bits, samples: samples(1, (x, y) => [v(x, y)]), interlace }));
        expectAll(img, (x, y) => {
          const g = Math.round((v(x, y) * 255) / max);
          return [g, g, g, 255];
        });
      });
    }

    it(`16-bit grey keeps the high byte${tag}`, () => {
      const img = decodeImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: 16, samples: samples(1, (x, y) => [grey(x, y) * 257]), interlace }));
      expectAll(img, (x, y) => [grey(x, y), grey(x, y), grey(x, y), 255]);
    });

    it(`grey + alpha, 8 and 16 bit${tag}`, () => {
      for (const bits of [8, 16] as const) {
        const s = bits === 16 ? 257 : 1;
        const img = decodeImage(encodePng({ width: W, height: H, colorType: 4, bitDepth: bits, samples: samples(2, (x, y) => [grey(x, y) * s, alpha(x, y) * s]), interlace }));
        expectAll(img, (x, y) => [grey(x, y), grey(x, y), grey(x, y), alpha(x, y)]);
      }
    });

    it(`RGB and RGBA, 8 and 16 bit${tag}`, () => {
      for (const bits of [8, 16] as const) {
        const s = bits === 16 ? 257 : 1;
        const img3 = decodeImage(encodePng({ width: W, height: H, colorType: 2, bitDepth: bits, samples: samples(3, (x, y) => rgb(x, y).map((c) => c * s)), interlace }));
        expectAll(img3, (x, y) => [...rgb(x, y), 255]);
        const img4 = decodeImage(encodePng({ width: W, height: H, colorType: 6, bitDepth: bits, samples: samples(4, (x, y) => [...rgb(x, y), alpha(x, y)].map((c) => c * s)), interlace }));
        expectAll(img4, (x, y) => [...rgb(x, y), alpha(x, y)]);
      }
    });

    it(`palette with transparency, 1/2/4/8 bit${tag}`, () => {
      for (const bits of [1, 2, 4, 8] as const) {
        const n = 1 << Math.min(bits, 4);
        const palette: [number, number, number][] = Array.from({ length: n }, (_, i) => [i * 15, 255 - i * 10, (i * 40) % 256]);
        const trns = palette.map((_, i) => (i === 0 ? 0 : 255 - i));
        const idx = (x: number, y: number) => (x * 3 + y) % n;
        const img = decodeImage(encodePng({ width: W, height: H, colorType: 3, bitDepth: bits, samples: samples(1, (x, y) => [idx(x, y)]), palette, trns, interlace }));
        expectAll(img, (x, y) => [...palette[idx(x, y)], trns[idx(x, y)]]);
      }
    });
  }

  it('tRNS on grey and RGB makes that colour transparent', () => {
    const g = decodeImage(encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: samples(1, (x, y) => [grey(x, y)]), trns: [grey(0, 0)] }));
    expect(pixel(g, 0, 0)[3]).toBe(0);
    expect(pixel(g, 1, 0)[3]).toBe(255);
    const c = decodeImage(encodePng({ width: W, height: H, colorType: 2, bitDepth: 8, samples: samples(3, (x, y) => rgb(x, y)), trns: rgb(2, 3) }));
    expect(pixel(c, 2, 3)[3]).toBe(0);
    expect(pixel(c, 3, 3)[3]).toBe(255);
  });

  it('reads what pngjs writes', () => {
    const png = new PNG({ width: W, height: H });
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) png.data.set([...rgb(x, y), alpha(x, y)], (y * W + x) * 4);
    expectAll(decodeImage(PNG.sync.write(png)), (x, y) => [...rgb(x, y), alpha(x, y)]);
  });
});

describe('decodeImage: JPEG', () => {
  it('decodes a baseline JPEG to RGBA within compression error', () => {
    const w = 32, h = 24;
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([200, 100, 50, 255], i * 4);
    const img = decodeImage(jpeg.encode({ width: w, height: h, data }, 95).data);
    expect([img.width, img.height, img.format]).toEqual([w, h, 'jpeg']);
    const p = pixel(img, 10, 10);
    expect(Math.abs(p[0] - 200) + Math.abs(p[1] - 100) + Math.abs(p[2] - 50)).toBeLessThan(12);
    expect(p[3]).toBe(255);
  });
});

describe('withPooledBlocks (jpeg-js blocks as views of shared buffers)', () => {
  it('decodes a JPEG to exactly the bytes jpeg-js gives on its own, across many buffers of blocks', () => {
    // 400×300 in colour: 5,700 blocks of 8×8, more than five of the pool's buffers
    const w = 400, h = 300;
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([(x * 7 + y) % 256, (x * y) % 251, (y * 5) % 256, 255], (y * w + x) * 4);
    for (const quality of [30, 90]) {
      const bytes = jpeg.encode({ width: w, height: h, data }, quality).data;
      const plain = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      const img = decodeImage(bytes);
      expect(Buffer.from(img.data).equals(Buffer.from(plain.data)), `quality ${quality}`).toBe(true);
    }
  });

  it('hands out zeroed, separate 64-number views and passes every other construction through', () => {
    const seen = withPooledBlocks(() => {
      const a = new Int32Array(64), b = new Int32Array(64);
      a[63] = 7;
      b.fill(-1);
      return { a: Array.from(a), b0: b[0], fromList: Array.from(new Int32Array([1, 2, 3])), three: new Int32Array(3).length, shared: a.buffer === b.buffer, isInt32: a instanceof Int32Array };
    });
    expect(seen.a).toEqual([...new Array(63).fill(0), 7]);
    expect(seen).toMatchObject({ b0: -1, fromList: [1, 2, 3], three: 3, shared: true, isInt32: true });
  });

  it('restores the real Int32Array whether the work returns or throws', () => {
    const real = globalThis.Int32Array;
    expect(withPooledBlocks(() => globalThis.Int32Array !== real)).toBe(true);
    expect(globalThis.Int32Array).toBe(real);
    expect(() => withPooledBlocks(() => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(globalThis.Int32Array).toBe(real);
    expect(new Int32Array(64).buffer.byteLength).toBe(256);
  });
});

describe('EXIF orientation: pictures shown the way a viewer shows them', () => {
  // stored   a b c     (pixel values 1..6)
  //          d e f
  const a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
  const stored = { width: 3, height: 2, data: new Uint8Array(new Uint32Array([a, b, c, d, e, f]).buffer) };
  // as the EXIF standard defines each orientation (where the stored row 0 and column 0 are shown)
  const shown: Record<number, [number, number, number[]]> = {
    1: [3, 2, [a, b, c, d, e, f]],
    2: [3, 2, [c, b, a, f, e, d]], // mirrored left to right
    3: [3, 2, [f, e, d, c, b, a]], // turned 180°
    4: [3, 2, [d, e, f, a, b, c]], // mirrored top to bottom
    5: [2, 3, [a, d, b, e, c, f]], // row 0 on the left, column 0 on top
    6: [2, 3, [d, a, e, b, f, c]], // turned 90° clockwise
    7: [2, 3, [f, c, e, b, d, a]], // row 0 on the right, column 0 at the bottom
    8: [2, 3, [c, f, b, e, a, d]], // turned 90° anticlockwise
  };

  it('orientImage turns a 3×2 picture as each of the 8 orientations says', () => {
    for (let o = 1; o <= 8; o++) {
      const r = orientImage(stored, o);
      expect([r.width, r.height, Array.from(new Uint32Array(r.data.buffer, r.data.byteOffset, r.width * r.height))], `orientation ${o}`).toEqual(shown[o]);
    }
  });

  it('orientImage turns a picture larger than its 64×64 tiles, and refuses an orientation outside 1–8', () => {
    const w = 131, h = 70, px = new Uint32Array(w * h).map((_, i) => i);
    const big = orientImage({ width: w, height: h, data: new Uint8Array(px.buffer) }, 6);
    const out = new Uint32Array(big.data.buffer);
    expect([big.width, big.height]).toEqual([h, w]);
    // turned 90° clockwise: shown (x, y) is stored (y, h - 1 - x)
    for (let y = 0; y < w; y++) for (let x = 0; x < h; x++) if (out[y * h + x] !== (h - 1 - x) * w + y) throw new Error(`pixel (${x}, ${y})`);
    expect(() => orientImage(stored, 0)).toThrow(/orientation 0 is not 1 to 8/);
    expect(() => orientImage(stored, 9)).toThrow(ImageError);
  });

  // 48×24: a black square at the stored top left, a grey one at the stored top right
  const w = 48, h = 24, corners = new Uint8Array(w * h * 4).fill(255);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      corners.fill(0, (y * w + x) * 4, (y * w + x) * 4 + 3);
      corners.fill(128, (y * w + w - 1 - x) * 4, (y * w + w - 1 - x) * 4 + 3);
    }
  }
  const picture = { width: w, height: h, data: corners };
  /** Where the two squares are shown: the corners (tl, tr, bl, br) holding black and grey. */
  const squares = (img: { width: number; height: number; data: Uint8Array }) => {
    const at = (x: number, y: number) => img.data[(y * img.width + x) * 4];
    const found = { tl: at(3, 3), tr: at(img.width - 4, 3), bl: at(3, img.height - 4), br: at(img.width - 4, img.height - 4) };
    const near = (v: number, t: number) => Math.abs(v - t) < 24;
    return { black: Object.keys(found).find((k) => near(found[k as keyof typeof found], 0)), grey: Object.keys(found).find((k) => near(found[k as keyof typeof found], 128)) };
  };
  const expected: Record<number, { size: [number, number]; black: string; grey: string }> = {
    1: { size: [48, 24], black: 'tl', grey: 'tr' }, 2: { size: [48, 24], black: 'tr', grey: 'tl' },
    3: { size: [48, 24], black: 'br', grey: 'bl' }, 4: { size: [48, 24], black: 'bl', grey: 'br' },
    5: { size: [24, 48], black: 'tl', grey: 'bl' }, 6: { size: [24, 48], black: 'tr', grey: 'br' },
    7: { size: [24, 48], black: 'br', grey: 'tr' }, 8: { size: [24, 48], black: 'bl', grey: 'tl' },
  };

  it('decodeImage shows a JPEG as its EXIF orientation says (either byte order), naming the turn', () => {
    const plain = decodeImage(jpegWithExif(picture, undefined));
    expect(plain.description).toBe('JPEG colour');
    for (let o = 1; o <= 8; o++) {
      for (const le of [true, false]) {
        const img = decodeImage(jpegWithExif(picture, exifTiff(o, le)));
        expect({ size: [img.width, img.height], ...squares(img) }, `orientation ${o}`).toEqual(expected[o]);
        // the same pixels as the file without metadata, turned
        expect(Buffer.from(img.data).equals(Buffer.from(orientImage(plain, o).data)), `orientation ${o}`).toBe(true);
        if (o === 1) expect(img.description).toBe('JPEG colour');
        else expect(img.description).toMatch(new RegExp(`^JPEG colour, .+ as its EXIF orientation \\(${o}\\) says$`));
      }
    }
    expect(decodeImage(jpegWithExif(picture, exifTiff(6, true))).description).toBe('JPEG colour, turned 90° clockwise as its EXIF orientation (6) says');
  });

  it('decodeImage shows a PNG with an eXIf chunk as its orientation says', () => {
    const png = new PNG({ width: w, height: h });
    png.data = Buffer.from(corners);
    const bytes = PNG.sync.write(png);
    for (const o of [3, 6, 8]) {
      const img = decodeImage(pngWithExif(bytes, exifTiff(o, false)));
      expect({ size: [img.width, img.height], ...squares(img) }, `orientation ${o}`).toEqual(expected[o]);
      expect(img.description).toContain(`EXIF orientation (${o})`);
    }
  });

  it('metadata that cannot be read, or an orientation outside 1–8, leaves the pixels as stored', () => {
    const plain = decodeImage(jpegWithExif(picture, undefined));
    const damaged = exifTiff(6, true).slice(0, 12); // IFD0 cut off inside its entry
    const garbage = new Uint8Array(40).fill(0xab);
    for (const tiff of [damaged, garbage, exifTiff(0, true), exifTiff(9, false)]) {
      const img = decodeImage(jpegWithExif(picture, tiff));
      expect([img.width, img.height, img.description]).toEqual([w, h, 'JPEG colour']);
      expect(Buffer.from(img.data).equals(Buffer.from(plain.data))).toBe(true);
    }
  });
});

describe('decodeImage: untrusted input', () => {
  const good = encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: samples(1, (x, y) => [grey(x, y)]) });

  function fails(bytes: Uint8Array, pattern: RegExp): void {
    let err: unknown;
    try {
      decodeImage(bytes);
    } catch (e) {
      err = e;
    }
    expect(err, 'expected an ImageError').toBeInstanceOf(ImageError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
  }

  it('refuses files that are not images, naming known other formats', () => {
    fails(new Uint8Array(0), /empty file/);
    fails(Buffer.from('{"format": "mnist-ts-weights"}'), /not a PNG or JPEG image/);
    fails(Buffer.from('GIF89a\x01\x00\x01\x00'), /GIF images are not supported/);
    fails(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), /SVG images are not supported/);
    expect(sniffFormat(good)).toBe('png');
  });

  it('reports a PNG truncated anywhere as truncated or corrupt, never decoding garbage', () => {
    for (let cut = 1; cut < good.length; cut += 3) fails(good.subarray(0, cut), /truncated PNG|not a PNG|corrupt PNG/);
    fails(good.subarray(0, 40), /truncated PNG/);
    fails(good.subarray(0, good.length - 12), /truncated PNG: no IEND/);
  });

  it('reports a damaged PNG (checksum, compressed data)', () => {
    const bad = Buffer.from(good);
    bad[bad.indexOf('IDAT') + 6] ^= 0xff;
    fails(bad, /corrupt PNG: checksum mismatch in the "IDAT" chunk/);
    // valid CRC over a damaged zlib stream
    const junk = Buffer.concat([PNG_SIGNATURE, ihdr(W, H, 8, 0), chunk('IDAT', Buffer.from('this is not zlib data')), chunk('IEND', new Uint8Array(0))]);
    fails(junk, /corrupt PNG: the compressed image data is damaged/);
    // a valid zlib stream with fewer bytes than the rows need
    const short = Buffer.concat([PNG_SIGNATURE, ihdr(W, H, 8, 0), chunk('IDAT', deflateSync(Buffer.alloc(W + 1))), chunk('IEND', new Uint8Array(0))]);
    fails(short, /truncated PNG: the image data ends early/);
  });

  it('refuses a header claiming 100000×100000 before decoding anything', () => {
    const head = Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000, 8, 6)]);
    const end = chunk('IEND', new Uint8Array(0));
    const refused = /100000×100000 pixels \(10000 megapixels\); the limit is 50 megapixels/;
    // the verdict comes from the header alone: whatever follows it (valid data, damaged data,
    // nothing at all) would give another message if anything were inflated or decoded first
    fails(Buffer.concat([head, chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), end]), refused);
    fails(Buffer.concat([head, chunk('IDAT', Buffer.from('this is not zlib data')), end]), refused);
    fails(head, refused);
    expect(readPngHeader(good)).toMatchObject({ width: W, height: H, depth: 8, colorType: 0, interlaced: false });
  });

  it('refuses impossible IHDR fields', () => {
    fails(Buffer.concat([PNG_SIGNATURE, ihdr(0, 5, 8, 0), chunk('IEND', new Uint8Array(0))]), /size of 0×5/);
    fails(Buffer.concat([PNG_SIGNATURE, ihdr(5, 5, 3, 2), chunk('IEND', new Uint8Array(0))]), /bit depth 3 is not allowed for RGB/);
    fails(Buffer.concat([PNG_SIGNATURE, ihdr(5, 5, 8, 5), chunk('IEND', new Uint8Array(0))]), /unknown colour type 5/);
  });

  it('stops a small interlaced PNG that inflates far past its header size (zip bomb)', () => {
    const bomb = Buffer.concat([PNG_SIGNATURE, ihdr(16, 16, 8, 0, 1), chunk('IDAT', deflateSync(Buffer.alloc(5_000_000))), chunk('IEND', new Uint8Array(0))]);
    expect(bomb.length).toBeLessThan(10_000);
    fails(bomb, /corrupt PNG: the image data is larger than the header says/);
  });

  it('checks JPEG frame size before decoding, and refuses truncated JPEGs', () => {
    const w = 16, h = 16;
    const j = jpeg.encode({ width: w, height: h, data: Buffer.alloc(w * h * 4, 90) }, 80).data;
    expect(readJpegHeader(j)).toMatchObject({ width: 16, height: 16, components: 3, progressive: false });
    // patch the SOF0 dimensions to 60000×60000
    const big = Buffer.from(j);
    const sof = big.indexOf(Buffer.from([0xff, 0xc0]));
    big.writeUInt16BE(60000, sof + 5);
    big.writeUInt16BE(60000, sof + 7);
    // refused from the frame header: jpeg-js is never asked to decode (it would allocate 14 GB)
    const decode = vi.spyOn(jpeg, 'decode');
    try {
      fails(big, /JPEG header claims 60000×60000 pixels/);
      expect(decode).not.toHaveBeenCalled();
    } finally {
      decode.mockRestore();
    }
    fails(j.subarray(0, j.length - 40), /truncated JPEG|corrupt JPEG/);
    fails(j.subarray(0, 30), /truncated JPEG|corrupt JPEG/);
    for (let cut = 3; cut < j.length - 2; cut += 17) fails(j.subarray(0, cut), /truncated JPEG|corrupt JPEG/);
  });
});

describe('encodeGreyPng', () => {
  it('round-trips 8-bit grey pixels', () => {
    const px = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256);
    const img = decodeImage(encodeGreyPng(px, 28, 28));
    expect(img.description).toBe('PNG 8-bit grey');
    for (let i = 0; i < px.length; i++) expect(img.data[i * 4]).toBe(px[i]);
  });
});

