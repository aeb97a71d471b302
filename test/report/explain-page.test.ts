import { beforeAll, describe, expect, it } from 'vitest';
import { parseArch } from '../../src/nn/arch.ts';
import type { BatchNorm } from '../../src/nn/batchnorm.ts';
import { mlpSpecs } from '../../src/nn/models.ts';
import { explain } from '../../src/report/activations.ts';
import { explainHtml, explainPage, originalImage } from '../../src/report/explain-page.ts';
import { buildFromSpecs, count, decodeFloat32, expectSelfContained, loadCnn, pageData, testImage } from './helpers.ts';

describe('explain page for the CNN fixture', () => {
  // built in beforeAll, so a missing fixture fails these tests, not the file's collection
  let model: ReturnType<typeof loadCnn>['model'], img: ReturnType<typeof testImage>, ex: ReturnType<typeof explain>, html: string;
  beforeAll(() => {
    ({ model } = loadCnn());
    img = testImage(0);
    ex = explain(model, img.x);
    html = explainPage(ex, { source: 'digit.png', original: { width: 28, height: 28, channels: 1, data: img.pixels }, modelLabel: 'cnn-small' });
  });

  it('has one panel per layer, in order, labelled with name, shape and parameter count', () => {
    const panels = [...html.matchAll(/<section class="card layer" id="layer-(\d+)" data-index="\d+" data-type="(\w+)">\s*<h2>([^<]*)<\/h2>\s*<p class="meta">([^<]*)<\/p>/g)];
    expect(panels.map((m) => [Number(m[1]), m[2]])).toEqual([
      [0, 'Conv2d'], [1, 'ReLU'], [2, 'MaxPool2d'], [3, 'Conv2d'], [4, 'ReLU'], [5, 'MaxPool2d'], [6, 'Flatten'], [7, 'Linear'],
    ]);
    expect(panels.map((m) => m[3])).toEqual(ex.layers.map((l) => `${l.index} · ${l.name}`));
    expect(panels[0][3]).toMatch(/^0 · Conv2d\(1, 8, kernel_size=/);
    expect(panels[0][4]).toBe('output [8, 28, 28] · 8 feature maps of 28×28 · 80 parameters');
    expect(panels[5][4]).toBe('output [16, 7, 7] · 16 feature maps of 7×7 · 0 parameters');
    expect(panels[7][4]).toBe('output [10] · 10 values · 7,850 parameters');
  });

  it('draws a feature map per channel of every conv, ReLU and pool output, the first conv kernels and strips for the rest', () => {
    expect(count(html, /<canvas class="map fmap zoomable"/)).toBe(8 + 8 + 8 + 16 + 16 + 16);
    expect(count(html, /<canvas class="map kernel zoomable"/)).toBe(8);
    expect(count(html, /<canvas class="map strip"/)).toBe(2);
    expect(count(html, /<canvas class="map input zoomable"/)).toBe(1);
    expect(count(html, /<img class="px" src="data:image\/png;base64,/)).toBe(1);
    expect(count(html, /<div class="legend"/)).toBe(1 + 1 + 8); // input, kernels, one per layer
  });

  it('embeds each layer output exactly, with a diverging scale for signed layers and sequential after ReLU', () => {
    const d = pageData(html);
    for (const l of ex.layers) {
      const b = d.blocks[`L${l.index}`];
      expect(decodeFloat32(b.b64)).toEqual(l.values);
      expect(b.n * b.count).toBe(l.values.length);
    }
    expect(d.blocks.L0.scale.kind).toBe('diverging');
    expect(d.blocks.L1.scale.kind).toBe('sequential');
    expect(d.blocks.L2.scale).toEqual({ kind: 'sequential', lo: 0, hi: d.blocks.L1.scale.hi }); // pooling keeps the max
    expect(d.blocks.L6).toMatchObject({ strip: true, n: 784, w: 112, h: 7, count: 1 });
    expect(decodeFloat32(d.blocks.kernels.b64)).toEqual(ex.kernels!.values);
  });

  it('marks the prediction in the header and the probability table', () => {
    expect(html).toContain('<strong id="predicted" data-class="7">7</strong>');
    expect(html).toContain('<strong class="predicted-digit" data-class="7">7</strong>');
    expect(count(html, /<tr class="class-row/)).toBe(10);
    expect(html).toMatch(/<tr class="class-row predicted" data-class="7">/);
    expect(count(html, /◀ prediction/)).toBe(1);
  });

  it('is self-contained', () => {
    expectSelfContained(html);
  });

  it('is what explainHtml renders in one call', () => {
    const r = explainHtml(model, img.x, { source: 'digit.png', original: { width: 28, height: 28, channels: 1, data: img.pixels }, modelLabel: 'cnn-small' });
    expect(r.explanation.predicted).toBe(7);
    expect(r.html).toBe(html);
  });
});

describe('explain page escaping and options', () => {
  const model = buildFromSpecs(mlpSpecs([40]));
  const ex = explain(model, testImage(3).x);

  it('escapes the file name and class names, in text and in the embedded data', () => {
    const classes = ['<b>zero</b>', ...'123456789'.split('').map((c) => `"${c}"&</script>`)];
    const html = explainPage(ex, { source: '<img src=x onerror=alert(1)>.png', classes });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;.png');
    expect(html).not.toContain('<b>zero</b>');
    expect(html).toContain('&lt;b&gt;zero&lt;/b&gt;');
    expect(count(html, /<\/script>/)).toBe(2); // the data block and the script
    expectSelfContained(html);
  });

  it('shows an MLP first layer as templates, capped by maxTemplates', () => {
    expect(count(explainPage(ex), /<canvas class="map template zoomable"/)).toBe(40);
    const capped = explainPage(ex, { maxTemplates: 12 });
    expect(count(capped, /<canvas class="map template zoomable"/)).toBe(12);
    expect(capped).toContain('(the first 12 of 40 units)');
    expect(decodeFloat32(pageData(capped).blocks.templates.b64)).toEqual(ex.templates!.values.subarray(0, 12 * 784));
    expect(count(capped, /<canvas class="map fmap/)).toBe(0);
    expect(count(capped, /<section class="card layer"/)).toBe(4);
  });

  it('embeds an encoded original picture as given', () => {
    const html = explainPage(ex, { original: { bytes: Uint8Array.from([0xff, 0xd8, 0xff]), mime: 'image/jpeg' } });
    expect(html).toContain('src="data:image/jpeg;base64,/9j/"');
  });

  it('embeds a small picture file as it is and a large one as a shrunk PNG', () => {
    const small = originalImage({ bytes: new Uint8Array(1000), format: 'png', width: 2000, height: 1000, data: new Uint8Array(2000 * 1000 * 4) });
    expect(small).toMatchObject({ mime: 'image/png' });
    const big = originalImage({ bytes: new Uint8Array(600 * 1024), format: 'jpeg', width: 2000, height: 1000, data: new Uint8Array(2000 * 1000 * 4) });
    expect(big).toMatchObject({ width: 500, height: 250, channels: 4 });
    expect(explainPage(ex, { original: big })).toMatch(/<img class="px" src="data:image\/png;base64,[^"]+" alt="the original picture"><figcaption>original picture \(shown at 500×250\)/);
  });
});

describe('explain page with batch normalisation', () => {
  it('shows BatchNorm layers like the others: a panel with its parameters and one signed feature map per channel, computed with the running statistics', () => {
    const specs = parseArch('conv(4,3,padding=1) batchnorm relu maxpool(2) flatten linear(16) batchnorm1d relu linear(10)');
    const model = buildFromSpecs(specs);
    const bn = model.layers[1] as BatchNorm;
    bn.runningMean!.data.set([0.5, -0.5, 0, 1]);
    bn.runningVar!.data.set([4, 1, 0.25, 2]);
    model.train();
    const img = testImage(0);
    const ex = explain(model, img.x);
    const html = explainPage(ex, { source: 'digit.png', original: { width: 28, height: 28, channels: 1, data: img.pixels }, modelLabel: 'bn' });
    const panels = [...html.matchAll(/data-type="(\w+)">\s*<h2>([^<]*)<\/h2>\s*<p class="meta">([^<]*)<\/p>/g)];
    expect(panels.map((m) => m[1])).toEqual(['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']);
    expect(panels[1][2]).toBe('1 · BatchNorm2d(4)');
    expect(panels[1][3]).toBe('output [4, 28, 28] · 4 feature maps of 28×28 · 8 parameters');
    // eval mode: (conv output - running mean) / sqrt(running var + eps), weight 1, bias 0
    const conv = ex.layers[0].values, out = ex.layers[1].values;
    for (const [c, i] of [[0, 0], [1, 784 + 5], [2, 2 * 784 + 400], [3, 3 * 784 + 783]]) {
      const m = [0.5, -0.5, 0, 1][c], v = [4, 1, 0.25, 2][c];
      expect(out[i]).toBeCloseTo((conv[i] - m) / Math.sqrt(v + 1e-5), 5);
    }
    expect(model.training).toBe(true);
    expect(pageData(html).blocks.L1.scale.kind).toBe('diverging');
  });
});
