import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { Batcher, subset } from '../../src/data/batches.ts';
import { decodeImage, orientImage, type RgbaImage } from '../../src/data/image-io.ts';
import {
  adjustStroke, centreByMass, chooseComposite, preprocessImage, resampleArea, strokeWidth,
} from '../../src/data/image.ts';
import { normalizeImage } from '../../src/data/normalize.ts';
import type { Split } from '../../src/data/sources.ts';
import { argmaxRows } from '../../src/nn/loss.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Adam } from '../../src/optim/adam.ts';
import { localStepper } from '../../src/train/train.ts';
import { canvas, correlation, digit, encodePng, exifTiff, jpegWithExif, mnistData, mnistTest } from './image-fixtures.ts';

const MEAN = 0.1307, STD = 0.3081;

function rgba(w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
  return { width: w, height: h, data };
}

const mix = (ink: number[], paper: number[], a: number) => ink.map((c, i) => Math.round(c * a + paper[i] * (1 - a)));

/** Interleaved samples blending `paper` into `ink` by the coverage (any channel count, e.g. with alpha). */
function paint(cov: Float32Array, ink: number[], paper: number[]): Uint16Array {
  const ch = ink.length;
  const out = new Uint16Array(cov.length * ch);
  for (let i = 0; i < cov.length; i++) {
    const a = cov[i];
    for (let c = 0; c < ch; c++) out[i * ch + c] = Math.round(ink[c] * a + paper[c] * (1 - a));
  }
  return out;
}

describe('preprocessImage building blocks', () => {
  it('resampleArea averages whole and fractional source areas', () => {
    // 4×4 → 2×2: each output is the mean of a 2×2 block
    const v = Float32Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(resampleArea(v, 4, 4, 0, 0, 4, 2))).toEqual([1, 0, 0, 0.5]);
    // a 3-wide square onto 2 pixels: each output covers 1.5×1.5 source pixels
    const corner = resampleArea(Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]), 3, 3, 0, 0, 3, 2);
    expect(Array.from(corner, (x) => +x.toFixed(6))).toEqual([+(1 / 2.25).toFixed(6), 0, 0, 0]);
    // the centre pixel is split four ways
    const centre = resampleArea(Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), 3, 3, 0, 0, 3, 2);
    for (const x of centre) expect(x).toBeCloseTo(0.25 / 2.25, 6);
    // area outside the image counts as background
    expect(Array.from(resampleArea(Float32Array.from([1]), 1, 1, -1, 0, 2, 1))).toEqual([0.25]);
  });

  it('centreByMass puts the centre of mass on pixel (14, 14), as MNIST did', () => {
    const a = new Float32Array(400);
    a[5 * 20 + 3] = 1;
    const out = centreByMass(a, 20);
    expect(out[14 * 28 + 14]).toBe(255);
    expect(out.reduce((s, v) => s + v, 0)).toBe(255);
    // a 2-pixel bar with its mass between pixels rounds to one side, never off by more
    const b = new Float32Array(400);
    b[10 * 20 + 10] = 1;
    b[10 * 20 + 11] = 1;
    const o = centreByMass(b, 20);
    const xs = [...o.keys()].filter((i) => o[i] > 0).map((i) => i % 28);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 14)).toBeLessThanOrEqual(0.5);
  });

  function ring(size: number, radius: number, width: number): Float32Array {
    const v = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2);
        v[y * size + x] = Math.abs(d - radius) <= width / 2 ? 1 : 0;
      }
    }
    return v;
  }

  it('strokeWidth measures a ring of known width', () => {
    for (const w of [2, 4, 8]) expect(strokeWidth(ring(200, 70, w), 200, 200)).toBeGreaterThan(w * 0.85);
    for (const w of [2, 4, 8]) expect(strokeWidth(ring(200, 70, w), 200, 200)).toBeLessThan(w * 1.2);
    expect(strokeWidth(new Float32Array(100), 10, 10)).toBe(0);
  });

  it('adjustStroke grows and shrinks strokes by r on each side', () => {
    const thin = ring(200, 70, 2);
    expect(strokeWidth(adjustStroke(thin, 200, 200, 3), 200, 200)).toBeCloseTo(8, 0);
    const thick = ring(200, 70, 12);
    expect(strokeWidth(adjustStroke(thick, 200, 200, -3), 200, 200)).toBeCloseTo(6, 0);
  });

  it('chooseComposite puts transparent-background ink on the opposite of its brightness', () => {
    const inkOnly = (c: number[]) => rgba(20, 20, (x, y) => (x === y ? [c[0], c[1], c[2], 255] : [c[0], c[1], c[2], 0]));
    expect(chooseComposite(inkOnly([0, 0, 0]))).toMatchObject({ alpha: 'ink', color: [1, 1, 1] });
    expect(chooseComposite(inkOnly([255, 255, 255]))).toMatchObject({ alpha: 'ink', color: [0, 0, 0] });
    expect(chooseComposite(inkOnly([255, 230, 0]))).toMatchObject({ alpha: 'ink', color: [0, 0, 0] });
    // mostly opaque paper with a transparent margin: the margin becomes paper
    const paper = rgba(20, 20, (x) => (x < 2 ? [0, 0, 0, 0] : [255, 250, 240, 255]));
    const c = chooseComposite(paper);
    expect(c.alpha).toBe('paper');
    expect(c.color.map((v) => Math.round(v * 255))).toEqual([255, 250, 240]);
    expect(chooseComposite(rgba(4, 4, () => [9, 9, 9, 255]))).toMatchObject({ alpha: 'none' });
    expect(chooseComposite(rgba(4, 4, () => [9, 9, 9, 0])).opaque).toBe(0);
  });
});

describe('preprocessImage: no digit', () => {
  it('reports blank, uniform, noisy-uniform and fully transparent images instead of guessing', () => {
    expect(preprocessImage(rgba(64, 64, () => [255, 255, 255, 255])).reason).toMatch(/no digit found/);
    expect(preprocessImage(rgba(64, 48, () => [30, 90, 200, 255])).reason).toMatch(/no digit found/);
    const rng = new Rng(3);
    const noisy = rgba(300, 200, () => {
      const v = 200 + Math.round((rng.next() - 0.5) * 8);
      return [v, v, v, 255];
    });
    expect(preprocessImage(noisy).pixels).toBeUndefined();
    expect(preprocessImage(rgba(50, 50, () => [0, 0, 0, 0])).reason).toMatch(/transparent/);
  });

  it('does not turn a speck of dust into a digit', () => {
    const r = preprocessImage(rgba(400, 400, (x, y) => (x >= 200 && x < 202 && y >= 100 && y < 102 ? [0, 0, 0, 255] : [255, 255, 255, 255])));
    expect(r.pixels).toBeUndefined();
    expect(r.reason).toMatch(/no digit found/);
  });
});

// ---- real MNIST digits drawn into pictures of many kinds ----

const N = 30;
let test: Split;
let model: Sequential;

function predictPixels(px: Uint8Array): number {
  model.eval();
  const logits = model.forward(new Tensor([1, 1, 28, 28], normalizeImage(px, MEAN, STD)));
  return argmaxRows(logits)[0];
}

beforeAll(async () => {
  test = await mnistTest();
  // a small MLP trained here on 10k images for one epoch (a few seconds): about 90% accurate
  const data = await mnistData();
  manualSeed(7);
  const net = buildModel(mlpSpecs([64]));
  const step = localStepper(net, new Adam(net.parameters(), { lr: 2e-3 }));
  net.train();
  for (const { x, y } of new Batcher(subset(data.train, 10_000), { batchSize: 32, mean: MEAN, std: STD }).epoch(new Rng(1))) step.step(x, y);
  model = net;
}, 120_000);

interface Case {
  name: string;
  /** Encoded file bytes for test digit g. */
  make: (g: Uint8Array, i: number) => Uint8Array;
  minMeanCorr: number;
  /** How many test digits (fewer for the big canvases, to keep the suite quick). */
  count?: number;
}

const WHITE = [255, 255, 255], BLACK = [0, 0, 0];

const CASES: Case[] = [
  {
    name: '8-bit grey, light on dark (MNIST itself)',
    make: (g) => encodePng({ width: 28, height: 28, colorType: 0, bitDepth: 8, samples: g }),
    minMeanCorr: 0.9,
  },
  {
    name: '16-bit grey, dark ink on light paper',
    make: (g) => encodePng({ width: 28, height: 28, colorType: 0, bitDepth: 16, samples: Array.from(g, (v) => (255 - v) * 257) }),
    minMeanCorr: 0.9,
  },
  {
    name: 'grey+alpha: black ink on a transparent canvas, 2×',
    make: (g) => {
      const cov = canvas(g, 2, 56, 56, 0, 0);
      return encodePng({ width: 56, height: 56, colorType: 4, bitDepth: 8, samples: paint(cov, [0, 255], [0, 0]) });
    },
    minMeanCorr: 0.9,
  },
  {
    name: 'RGBA 16-bit: white ink on a transparent canvas, off-centre',
    make: (g) => {
      const cov = canvas(g, 4, 180, 130, 60, 10);
      return encodePng({ width: 180, height: 130, colorType: 6, bitDepth: 16, samples: paint(cov, [65535, 65535, 65535, 65535], [65535, 65535, 65535, 0]) });
    },
    minMeanCorr: 0.9,
  },
  {
    name: 'RGB: blue ink on cream paper, 3×',
    make: (g) => {
      const cov = canvas(g, 3, 100, 90, 5, 2);
      return encodePng({ width: 100, height: 90, colorType: 2, bitDepth: 8, samples: paint(cov, [30, 40, 160], [245, 235, 190]) });
    },
    minMeanCorr: 0.9,
  },
  {
    name: 'palette, 4-bit, interlaced: dark on light in 16 greys',
    make: (g) => {
      const cov = canvas(g, 3, 84, 84, 0, 0);
      const palette = Array.from({ length: 16 }, (_, i) => [255 - i * 17, 255 - i * 17, 255 - i * 17] as [number, number, number]);
      return encodePng({ width: 84, height: 84, colorType: 3, bitDepth: 4, palette, samples: Array.from(cov, (a) => Math.round(a * 15)), interlace: true });
    },
    minMeanCorr: 0.9,
  },
  {
    name: 'large RGB canvas 640×420, interlaced, digit off-centre at 10×',
    make: (g, i) => {
      const cov = canvas(g, 10, 640, 420, 340 - (i % 3) * 150, 100 - (i % 2) * 90);
      return encodePng({ width: 640, height: 420, colorType: 2, bitDepth: 8, samples: paint(cov, BLACK, WHITE), interlace: true });
    },
    minMeanCorr: 0.9,
    count: 15,
  },
  {
    name: 'JPEG photo: grey paper with a lighting gradient, noise, dark ink',
    make: (g, i) => {
      const w = 400, h = 360;
      const cov = canvas(g, 9, w, h, 60, 40);
      const rng = new Rng(100 + i);
      const data = Buffer.alloc(w * h * 4);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const paper = 150 + (70 * x) / w + (20 * y) / h + (rng.next() - 0.5) * 14;
          const a = cov[y * w + x], o = (y * w + x) * 4;
          // mix([35, 35, 60], [paper, paper, paper - 10], a), without two arrays a pixel
          data[o] = data[o + 1] = Math.round(35 * a + paper * (1 - a));
          data[o + 2] = Math.round(60 * a + (paper - 10) * (1 - a));
          data[o + 3] = 255;
        }
      }
      return jpeg.encode({ width: w, height: h, data }, 80).data;
    },
    minMeanCorr: 0.88,
    count: 15,
  },
];

describe('preprocessImage on MNIST test digits drawn into PNG and JPEG files', () => {
  for (const c of CASES) {
    it(`${c.name}: close to the original 28×28, same prediction`, () => {
      const n = c.count ?? N;
      let sum = 0, worst = 1, agree = 0;
      for (let i = 0; i < n; i++) {
        const g = digit(test, i);
        const r = preprocessImage(decodeImage(c.make(g, i)));
        expect(r.pixels, `digit ${i}: ${r.reason}`).toBeDefined();
        const corr = correlation(r.pixels!, g);
        sum += corr;
        worst = Math.min(worst, corr);
        if (predictPixels(r.pixels!) === predictPixels(g)) agree++;
      }
      expect(sum / n).toBeGreaterThan(c.minMeanCorr);
      expect(worst).toBeGreaterThan(0.55);
      expect(agree).toBeGreaterThanOrEqual(n - 2);
    });
  }

  it('a phone photo stored on its side with EXIF orientation 6 reads as the upright digit, not as stored', () => {
    const n = 8;
    let upright = 0, asStored = 0, agree = 0;
    for (let i = 0; i < n; i++) {
      const g = digit(test, i);
      // the photo as the user sees it: dark ink on grey paper, 320×240
      const w = 320, h = 240, data = Uint8Array.from(paint(canvas(g, 7, w, h, 70, 20), [40, 40, 40, 255], [205, 205, 205, 255]));
      // stored as the sensor saw it, turned 90° anticlockwise, with orientation 6 to turn it back
      const stored = orientImage({ width: w, height: h, data }, 8);
      const r = preprocessImage(decodeImage(jpegWithExif(stored, exifTiff(6, true))));
      upright += correlation(r.pixels!, g);
      if (predictPixels(r.pixels!) === predictPixels(g)) agree++;
      // the same file saying orientation 1: the digit lies on its side
      asStored += correlation(preprocessImage(decodeImage(jpegWithExif(stored, exifTiff(1, true)))).pixels!, g);
    }
    expect(upright / n).toBeGreaterThan(0.85);
    expect(agree).toBeGreaterThanOrEqual(n - 1);
    expect(asStored / n).toBeLessThan(0.5);
  });

  it('a digit cut off by the bottom of the photo is set aside, and the reason says to leave paper all round it', () => {
    const g = digit(test, 0);
    // 10× the 28×28 (ink rows 56–239 of 240: the last rows of the digit are outside the picture)
    const w = 320, h = 240, ink = [30, 30, 30, 255], paper = [210, 210, 210, 255];
    const r = preprocessImage({ width: w, height: h, data: Uint8Array.from(paint(canvas(g, 10, w, h, 20, -10), ink, paper)) });
    expect(r.pixels).toBeUndefined();
    expect(r.reason).toMatch(/^no digit found: nothing that looks like ink \(set aside: .*touches the edge of the picture.*\); a digit that runs off the picture is not read, so leave paper all round it$/);
    // the same photo 60 pixels taller, the whole digit in it, is read
    const read = preprocessImage({ width: w, height: h + 60, data: Uint8Array.from(paint(canvas(g, 10, w, h + 60, 20, -10), ink, paper)) });
    expect(correlation(read.pixels!, g)).toBeGreaterThan(0.8);
  });

  it('the trained model is right on the originals (so agreement means something)', () => {
    let right = 0;
    for (let i = 0; i < N; i++) if (predictPixels(digit(test, i)) === test.labels[i]) right++;
    expect(right).toBeGreaterThanOrEqual(N - 4);
  });

  it('ignores specks away from the digit', () => {
    let sum = 0;
    for (let i = 0; i < 10; i++) {
      const g = digit(test, i);
      const cov = canvas(g, 6, 300, 300, 40, 60);
      for (const [x, y] of [[5, 5], [290, 20], [250, 280], [10, 250], [280, 150]]) {
        for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) cov[(y + dy) * 300 + x + dx] = 1;
      }
      const r = preprocessImage(rgba(300, 300, (x, y) => [...mix(BLACK, WHITE, cov[y * 300 + x]), 255] as [number, number, number, number]));
      sum += correlation(r.pixels!, g);
    }
    expect(sum / 10).toBeGreaterThan(0.9);
  });

  it('tells ink from paper by colour when their brightness is the same', () => {
    const g = digit(test, 0);
    const cov = canvas(g, 4, 112, 112, 0, 0);
    // red (luma 0.299*220) on a grey of the same luma
    const red = [220, 0, 0], grey = Math.round(0.299 * 220);
    const r = preprocessImage(rgba(112, 112, (x, y) => [...mix(red, [grey, grey, grey], cov[y * 112 + x]), 255] as [number, number, number, number]));
    expect(r.info.signal).toBe('colour');
    // as close to the original as the same digit in black on white
    const bw = preprocessImage(rgba(112, 112, (x, y) => [...mix(BLACK, WHITE, cov[y * 112 + x]), 255] as [number, number, number, number]));
    expect(bw.info.signal).toBe('luminance');
    expect(correlation(r.pixels!, g)).toBeGreaterThan(correlation(bw.pixels!, g) - 0.02);
    expect(correlation(r.pixels!, g)).toBeGreaterThan(0.8);
  });

  it('thickens a thin pen stroke on a big canvas to MNIST width', () => {
    // an ellipse drawn with a 3-pixel pen on a 900×900 canvas: area averaging alone would leave a faint ghost
    const w = 900;
    const img = rgba(w, w, (x, y) => {
      const d = Math.hypot((x - 450) / 250, (y - 450) / 380);
      return Math.abs(d - 1) * 300 < 1.5 ? [0, 0, 0, 255] : [255, 255, 255, 255];
    });
    const r = preprocessImage(img);
    expect(r.info.stroke).toBeLessThan(1);
    expect(r.info.strokeAdjusted).toBeGreaterThan(2);
    expect(Math.max(...r.pixels!)).toBe(255);
    expect(predictPixels(r.pixels!)).toBe(0);
  });

  it('reports the digit box in source pixels and which way the ink was', () => {
    const g = digit(test, 1);
    const cov = canvas(g, 5, 300, 200, 100, 30);
    const r = preprocessImage(rgba(300, 200, (x, y) => [...mix(BLACK, WHITE, cov[y * 300 + x]), 255] as [number, number, number, number]));
    expect(r.info.inverted).toBe(true);
    const box = r.info.box!;
    expect(box.x).toBeGreaterThanOrEqual(100);
    expect(box.y).toBeGreaterThanOrEqual(30);
    expect(box.x + box.width).toBeLessThanOrEqual(240);
    expect(box.y + box.height).toBeLessThanOrEqual(170);
    expect(Math.max(box.width, box.height)).toBeGreaterThan(80);
  });
});
