// The photo set (scripts/photos/scenes.ts, seed 1, 5 of each empty page): the digit's box is
// found in ≥ 95% of pictures and ≥ 85% of every condition; empty pages give no digit. The whole
// set, 30 pictures of each condition (drawing them costs about three times what reading them
// does). Accuracy with a trained model: scripts/photos/measure.ts.
import { describe, expect, it } from 'vitest';
import { preprocessImage } from '../../src/data/image.ts';
import { CONDITIONS, makeScene, makeSet } from '../../scripts/photos/scenes.ts';
import { iou, photoSources } from './photos-fixtures.ts';
import type { Sources } from '../../scripts/photos/scenes.ts';

const PER = 30;

describe(`preprocessImage on the photo set (${PER} pictures per condition)`, () => {
  it('finds the digit in ≥ 95% of pictures, ≥ 85% per condition; empty pages say no digit', async () => {
    const scenes = makeSet(await photoSources(), { seed: 1, perCondition: PER, perEmpty: 5 });
    const hit = new Map<string, number>(), all = new Map<string, number>();
    for (const s of scenes) {
      const r = preprocessImage(s.image);
      if (s.label === null) {
        expect(r.pixels, s.id).toBeUndefined();
        continue;
      }
      all.set(s.condition, (all.get(s.condition) ?? 0) + 1);
      if (r.info.box && s.box && iou(r.info.box, s.box) >= 0.5) hit.set(s.condition, (hit.get(s.condition) ?? 0) + 1);
    }
    let h = 0, n = 0;
    for (const c of CONDITIONS) {
      expect((hit.get(c) ?? 0) / all.get(c)!, c).toBeGreaterThanOrEqual(0.85);
      h += hit.get(c) ?? 0;
      n += all.get(c)!;
    }
    expect(h / n).toBeGreaterThanOrEqual(0.95);
  }, 600_000);

  it('keeps a "1" drawn on ruled paper (printed lines go, strokes stay)', async () => {
    const src = await photoSources();
    let kept = 0, tried = 0;
    for (let i = 0; tried < 3 && i < 60; i++) {
      const s = makeScene(src as Sources, 'ruled', i, 3);
      if (s.label !== 1) continue;
      tried++;
      const r = preprocessImage(s.image);
      if (r.info.box && s.box && iou(r.info.box, s.box) >= 0.5) kept++;
    }
    expect(tried).toBeGreaterThan(0);
    expect(kept).toBe(tried);
  }, 120_000);
});
