// Checks that two checkouts' pipelines read the photo set exactly alike (the 28×28 pixels and
// everything --json reports), e.g. before and after a change meant only to make it faster.
// Usage: npx tsx scripts/photos/compare.ts --pipeline A --pipeline B [--weights FILE] [--per N] [--seed N] [--big N] [--size WxH]
//   --weights: the model the pipelines ask between candidates (as mnist-predict does); without
//   it they pick the most ink. --big: also the first scene of the first N conditions, upscaled to
//   12 MP (--size, default 4000x3000).
import { parseArgs } from 'node:util';
import type { Preprocessed } from '../../src/data/image.ts';
import type { RgbaImage } from '../../src/data/image-io.ts';
import { importPipeline, modelReader } from './reading.ts';
import { CONDITIONS, makeSet, upscaleTo } from './scenes.ts';
import { loadSources } from './sources.ts';

const { values } = parseArgs({
  options: {
    pipeline: { type: 'string', multiple: true, default: [] }, weights: { type: 'string' },
    per: { type: 'string', default: '30' }, seed: { type: 'string', default: '1' }, big: { type: 'string', default: '0' }, size: { type: 'string', default: '4000x3000' },
  },
});
if (values.pipeline.length !== 2) throw new Error('give two --pipeline modules');
const [a, b] = await Promise.all(values.pipeline.map(importPipeline));
const opts: object = values.weights ? { classify: modelReader(values.weights).classify } : {};
const scenes = makeSet(await loadSources(), { seed: Number(values.seed), perCondition: Number(values.per) });
const pictures: { id: string; image: RgbaImage }[] = scenes.map((s) => ({ id: s.id, image: s.image }));
for (const s of CONDITIONS.slice(0, Number(values.big)).map((c) => scenes.find((x) => x.condition === c)!)) {
  pictures.push({ id: `${s.id}@${values.size}`, image: upscaleTo(s.image, values.size) });
}
const say = (r: Preprocessed) => JSON.stringify({ ...r, pixels: r.pixels && Buffer.from(r.pixels).toString('base64') });
let differ = 0;
for (const p of pictures) {
  const ra = say(a(p.image, opts)), rb = say(b(p.image, opts));
  if (ra !== rb) {
    differ++;
    console.log(`${p.id}: differs\n  A ${ra.slice(0, 400)}\n  B ${rb.slice(0, 400)}`);
  }
}
console.log(`${pictures.length} pictures, ${differ} read differently`);
process.exitCode = differ ? 1 : 0;
