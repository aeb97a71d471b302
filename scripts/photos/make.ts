// Writes the photo set to a directory to look at: one PNG per scene plus truth.json (digit, box).
// Usage: npx tsx scripts/photos/make.ts [--out DIR] [--seed N] [--per N] [--only CONDITION]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { makeSet } from './scenes.ts';
import { loadSources } from './sources.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'photos' }, seed: { type: 'string', default: '1' }, per: { type: 'string', default: '30' }, only: { type: 'string' } } });
const scenes = makeSet(await loadSources(), { seed: Number(values.seed), perCondition: Number(values.per) }).filter((s) => !values.only || s.condition === values.only);
mkdirSync(values.out, { recursive: true });
const truth = scenes.map((s) => {
  const png = new PNG({ width: s.image.width, height: s.image.height });
  png.data = Buffer.from(s.image.data);
  writeFileSync(join(values.out, `${s.id}.png`), PNG.sync.write(png));
  return { file: `${s.id}.png`, condition: s.condition, source: s.source, label: s.label, box: s.box };
});
writeFileSync(join(values.out, 'truth.json'), `${JSON.stringify(truth, null, 1)}\n`);
console.log(`${scenes.length} pictures written to ${values.out}`);
