// Reads the photo set with a model and prints accuracy per condition, "no digit found" on the
// empty pages, and time per picture.
// Usage: npx tsx scripts/photos/measure.ts --weights FILE [--pipeline MODULE] [--against MODULE] [--per N] [--seed N] [--only COND] [--working N] [--set NAME=VALUE ...] [--verbose]
//   --pipeline: a module exporting preprocessImage (default: this checkout's src/data/image.ts),
//   e.g. /work/main/src/data/image.ts to measure another checkout's pipeline on the same pictures.
//   --against: another pipeline read on the same pictures with the same model, e.g. the one
//   before issue 16 (`git worktree add /tmp/pre16 7d579d7`, then --against /tmp/pre16/src/data/image.ts):
//   every picture it reads right that this pipeline does not is listed ("lost"), so "the pictures
//   that are easy today stay right" is checked picture by picture.
//   --working: the pipeline's maxWorkingSide (default: its own).
//   --set: any other numeric preprocessing option (PreprocessOptions), e.g. --set minStroke=2.4.
//   --only: just that condition (or empty page), and only its pictures are drawn.
// The "model" column counts the pictures drawn from an MNIST digit that the model misreads in
// MNIST's own 28×28 image: no preprocessing can get those right except by chance. "p(true)" is the
// model's mean probability for the true digit (0 where no digit was found): it moves before the
// accuracy does, so it shows a change that is better or worse on every picture by a little.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Preprocessed } from '../../src/data/image.ts';
import { argmax, importPipeline, modelReader } from './reading.ts';
import { CONDITIONS, EMPTY, makeEmpty, makeScene, makeSet, type Condition, type Empty } from './scenes.ts';
import { loadSources } from './sources.ts';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' }, pipeline: { type: 'string' }, against: { type: 'string' }, per: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' }, only: { type: 'string' }, working: { type: 'string' }, set: { type: 'string', multiple: true, default: [] }, verbose: { type: 'boolean', default: false },
  },
});
if (!values.weights) throw new Error('--weights FILE is required');
const preprocessImage = await importPipeline(values.pipeline ?? fileURLToPath(new URL('../../src/data/image.ts', import.meta.url)));
const against = values.against ? await importPipeline(values.against) : undefined;
const { classify, digit } = modelReader(values.weights);
const seed = Number(values.seed), per = Number(values.per);
const src = await loadSources();
const only = values.only;
const scenes = !only ? makeSet(src, { seed, perCondition: per })
  : (CONDITIONS as readonly string[]).includes(only) ? Array.from({ length: per }, (_, i) => makeScene(src, only as Condition, i, seed))
  : (EMPTY as readonly string[]).includes(only) ? Array.from({ length: 5 }, (_, i) => makeEmpty(only as Empty, i, seed))
  : [];
if (scenes.length === 0) throw new Error(`--only ${only}: not a condition (${CONDITIONS.join(', ')}) or an empty page (${EMPTY.join(', ')})`);
const extra: Record<string, number> = {};
for (const kv of values.set) {
  const [k, v] = kv.split('=');
  if (!k || v === undefined || !Number.isFinite(Number(v))) throw new Error(`--set ${kv}: expected NAME=NUMBER`);
  extra[k] = Number(v);
}
if (values.working) extra.maxWorkingSide = Number(values.working);

const stats = new Map<string, { n: number; right: number; none: number; ms: number; model: number; was: number; kept: number; p: number; pBefore: number }>();
const lost: string[] = [];
let gained = 0;
const options = { classify, ...extra };
/** The digit read and the probability given to the true one (0 on an empty page). */
const read = (pre: Preprocessed, label: number | null): { guess: number | null; p: number } => {
  if (!pre.pixels) return { guess: null, p: 0 };
  const probs = classify(pre.pixels);
  return { guess: argmax(probs), p: label === null ? 0 : probs[label] };
};
for (const s of scenes) {
  const t0 = performance.now();
  const pre = preprocessImage(s.image, options);
  const ms = performance.now() - t0;
  const { guess, p } = read(pre, s.label);
  const st = stats.get(s.condition) ?? { n: 0, right: 0, none: 0, ms: 0, model: 0, was: 0, kept: 0, p: 0, pBefore: 0 };
  st.n++;
  st.ms += ms;
  st.p += p;
  if (guess === null) st.none++;
  if (guess === s.label) st.right++;
  if (s.mnist !== undefined && digit(src.mnist.images.subarray(s.mnist * 784, (s.mnist + 1) * 784)) !== s.label) st.model++;
  if (against) {
    const { guess: before, p: pBefore } = read(against(s.image, options), s.label);
    st.pBefore += pBefore;
    if (before === s.label) {
      st.was++;
      if (guess === s.label) st.kept++;
      else lost.push(`${s.id} (true ${s.label}, read ${guess ?? 'nothing'})`);
    } else if (guess === s.label) gained++;
  }
  stats.set(s.condition, st);
  if (values.verbose && guess !== s.label) {
    console.log(`  ${s.id} (${s.source}${s.mnist === undefined ? '' : ` #${s.mnist}`}): true ${s.label}, read ${guess ?? `nothing (${pre.reason})`}; box ${JSON.stringify(s.box)} found ${JSON.stringify(pre.info.box)} ${JSON.stringify(pre.info.setAside ?? {})} ${pre.info.chosen ?? ""}`);
  }
}
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`.padStart(7);
console.log(`pipeline ${values.pipeline ?? 'src/data/image.ts'}; model ${values.weights}; seed ${values.seed}${Object.keys(extra).length ? `; options ${JSON.stringify(extra)}` : ''}`);
console.log(`condition     pictures  right   no digit  ms/picture  model  p(true)${against ? '   right before  still right  p(true) before' : ''}`);
let n = 0, right = 0, was = 0, kept = 0, misread = 0, pSum = 0, pBeforeSum = 0;
const versus = (st: { was: number; kept: number; pBefore: number; n: number }) => (against ? ` ${String(st.was).padStart(14)} ${String(st.kept).padStart(12)} ${(st.pBefore / st.n).toFixed(3).padStart(15)}` : '');
for (const c of CONDITIONS) {
  const st = stats.get(c);
  if (!st) continue;
  n += st.n;
  right += st.right;
  was += st.was;
  kept += st.kept;
  misread += st.model;
  pSum += st.p;
  pBeforeSum += st.pBefore;
  console.log(`${c.padEnd(13)} ${String(st.n).padStart(8)} ${pct(st.right, st.n)} ${String(st.none).padStart(9)} ${(st.ms / st.n).toFixed(0).padStart(11)} ${String(st.model).padStart(6)} ${(st.p / st.n).toFixed(3).padStart(8)}${versus(st)}`);
}
if (n) console.log(`${'all'.padEnd(13)} ${String(n).padStart(8)} ${pct(right, n)} ${''.padStart(21)} ${String(misread).padStart(6)} ${(pSum / n).toFixed(3).padStart(8)}${versus({ was, kept, pBefore: pBeforeSum, n })}`);
for (const e of EMPTY) {
  const st = stats.get(e);
  if (st) console.log(`${e.padEnd(13)} ${String(st.n).padStart(8)}   (empty) ${String(st.none).padStart(9)} ${(st.ms / st.n).toFixed(0).padStart(11)}`);
}
if (against) {
  console.log(`against ${values.against}: ${kept} of the ${was} pictures it reads right are still read right; ${gained} more are read right now`);
  if (lost.length) console.log(`  lost: ${lost.join(', ')}`);
}
