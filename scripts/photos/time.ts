// Time per picture for a 12-megapixel photo (4000×3000; --size 4032x3024 for a phone's), wall and CPU milliseconds (CPU counts
// every thread of the process, V8's background compilers and GC helpers included; the machine may
// be shared, so each figure is taken several times). Three parts:
// - cold: the first picture a fresh process reads, compiling included, as a CLI user (one
//   picture per process) meets it: `--cold N` fresh processes per condition, one after another,
//   each timing its first three pictures (the same picture) stage by stage (src/data/image/stages.ts).
// - warm: in this process, after the cold part's compiling: each condition read 5 times.
// - decode: the first JPEG and the first PNG this process decodes (what mnist-predict does before
//   reading the picture), after the other parts.
// - decode-cold: decoding the picture as a PNG, and as a JPEG, in fresh processes (--cold N each,
//   each pipeline's image-io.ts beside it), as mnist-predict meets it.
// Usage: npx tsx scripts/photos/time.ts [--parts cold,warm,decode,decode-cold] [--cold N] [--conditions marker,clean,...] [--size WxH]
//          [--pipeline MODULE ...] [--node-flag FLAG ...]
//   --pipeline: a module exporting preprocessImage, with image/stages.ts beside it (default this
//   checkout's src/data/image.ts); several are interleaved process by process, for a fair
//   before/after on a shared machine. --node-flag: passed to the cold part's processes (e.g.
//   --trace-deopt, whose output is then printed).
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, type RgbaImage } from '../../src/data/image-io.ts';
import { importPipeline, type Preprocess } from './reading.ts';
import { CONDITIONS, makeScene, upscaleTo, type Condition } from './scenes.ts';
import { loadSources } from './sources.ts';

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'cold,warm,decode' },
    cold: { type: 'string', default: '5' },
    conditions: { type: 'string', default: 'marker,clean,shadow,ruled,chalk' },
    pipeline: { type: 'string', multiple: true, default: [] },
    'node-flag': { type: 'string', multiple: true, default: [] },
    size: { type: 'string', default: '4000x3000' },
    child: { type: 'string' },
    'child-decode': { type: 'string' },
  },
});
const SELF = fileURLToPath(import.meta.url);
const DEFAULT_PIPELINE = resolve(dirname(SELF), '../../src/data/image.ts');
const pipelines = values.pipeline.length ? values.pipeline.map((p) => resolve(p)) : [DEFAULT_PIPELINE];
const conditions = values.conditions.split(',') as Condition[];
for (const c of conditions) if (!(CONDITIONS as readonly string[]).includes(c)) throw new Error(`--conditions: ${c} is not one of ${CONDITIONS.join(', ')}`);

async function loadPipeline(path: string): Promise<{ preprocessImage: Preprocess; onStage: (f?: (s: string) => void) => void }> {
  const preprocessImage = await importPipeline(path);
  const { onStage } = (await import(pathToFileURL(resolve(dirname(path), 'image/stages.ts')).href)) as { onStage: (f?: (s: string) => void) => void };
  return { preprocessImage, onStage };
}

const big = (src: Awaited<ReturnType<typeof loadSources>>, c: Condition) => upscaleTo(makeScene(src, c, 0, 1).image, values.size);

// garbage-collection pauses of the main thread, summed since the last read
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
// gc entries arrive asynchronously: let them in before reading the sum
const settle = () => new Promise((r) => setTimeout(r, 0));
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Timing { wall: number; cpu: number; gc: number; stages: Record<string, { wall: number; cpu: number }> }

/** Times one call of `f`, and the stages the pipeline reports while it runs. */
async function timed(f: () => unknown, onStage: (g?: (s: string) => void) => void): Promise<Timing> {
  await settle();
  gcMs = 0;
  const stages: Timing['stages'] = {};
  const t = performance.now(), u = cpuNow();
  let lastT = t, lastU = u;
  onStage((s) => {
    const tt = performance.now(), uu = cpuNow();
    stages[s] = { wall: tt - lastT, cpu: uu - lastU };
    lastT = tt;
    lastU = uu;
  });
  f();
  const cpu = cpuNow() - u, wall = performance.now() - t;
  onStage();
  await settle();
  return { wall, cpu, gc: gcMs, stages };
}
const show = (r: { wall: number; cpu: number; gc: number }) => `${r.wall.toFixed(0)} ms wall / ${r.cpu.toFixed(0)} ms CPU (GC ${r.gc.toFixed(0)} ms)`;
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (values.child) {
  // one fresh process: its first three pictures, the same one each time
  const src = await loadSources();
  const img = big(src, values.child as Condition);
  const { preprocessImage, onStage } = await loadPipeline(pipelines[0]);
  const runs: Timing[] = [];
  for (let i = 0; i < Number(process.env.TIME_RUNS ?? 3); i++) runs.push(await timed(() => preprocessImage(img), onStage));
  console.log(`@@${JSON.stringify(runs)}`);
  process.exit(0);
}

/** The 12 MP marker picture as PNG or JPEG (quality 85) bytes. */
function encoded(img: RgbaImage, format: string): Uint8Array {
  if (format === 'jpeg') return jpeg.encode({ width: img.width, height: img.height, data: Buffer.from(img.data.buffer) }, 85).data;
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer);
  return PNG.sync.write(png);
}

if (values['child-decode']) {
  // one fresh process: the first decoding it does, with the pipeline's own image-io.ts
  const bytes = encoded(big(await loadSources(), 'marker'), values['child-decode']);
  const io = (await import(pathToFileURL(resolve(dirname(pipelines[0]), 'image-io.ts')).href)) as { decodeImage: (b: Uint8Array) => unknown };
  const r = await timed(() => io.decodeImage(bytes), () => {});
  console.log(`@@${JSON.stringify(r)}`);
  process.exit(0);
}

const parts = new Set(values.parts.split(','));
const STAGES = ['read', 'paper', 'dark', 'light', 'finish'];
const stageLine = (runs: Timing[]) => STAGES.map((s) => {
  const have = runs.filter((r) => r.stages[s]);
  return have.length ? `${s} ${med(have.map((r) => r.stages[s].wall)).toFixed(0)}/${med(have.map((r) => r.stages[s].cpu)).toFixed(0)}` : `${s} -`;
}).join(', ');

if (parts.has('cold')) {
  const N = Number(values.cold);
  console.log(`cold: the first pictures of ${N} fresh processes per condition and pipeline (medians; wall/CPU ms per stage)`);
  const results = new Map<string, Timing[][]>();
  for (let r = 0; r < N; r++) {
    for (const c of conditions) {
      for (const p of pipelines) {
        const out = spawnSync(process.execPath, [...values['node-flag'], '--import', 'tsx', SELF, '--child', c, '--pipeline', p, '--size', values.size], { encoding: 'utf8', maxBuffer: 1 << 30 });
        const line = out.stdout.split('\n').find((l) => l.startsWith('@@'));
        if (!line) throw new Error(`child ${c} ${p} failed: ${out.stderr}`);
        if (values['node-flag'].length) console.log(out.stdout.split('\n').filter((l) => !l.startsWith('@@')).join('\n'));
        const key = `${p}\t${c}`;
        results.set(key, [...(results.get(key) ?? []), JSON.parse(line.slice(2)) as Timing[]]);
      }
    }
  }
  for (const p of pipelines) {
    console.log(`pipeline ${p}`);
    const firsts: Timing[] = [];
    for (const c of conditions) {
      const rs = results.get(`${p}\t${c}`)!;
      const first = rs.map((x) => x[0]), second = rs.map((x) => x[1]), third = rs.map((x) => x[2]);
      firsts.push(...first);
      const range = (k: 'wall' | 'cpu') => `${Math.min(...first.map((x) => x[k])).toFixed(0)}–${Math.max(...first.map((x) => x[k])).toFixed(0)}`;
      console.log(`  ${c.padEnd(7)} first ${med(first.map((x) => x.wall)).toFixed(0)} ms wall (${range('wall')}) / ${med(first.map((x) => x.cpu)).toFixed(0)} ms CPU (${range('cpu')}), GC ${med(first.map((x) => x.gc)).toFixed(0)}; ` +
        `second ${med(second.map((x) => x.wall)).toFixed(0)}/${med(second.map((x) => x.cpu)).toFixed(0)}, third ${med(third.map((x) => x.wall)).toFixed(0)}/${med(third.map((x) => x.cpu)).toFixed(0)}`);
      console.log(`          first by stage: ${stageLine(first)}`);
    }
    console.log(`  all ${firsts.length} first pictures: median ${med(firsts.map((x) => x.wall)).toFixed(0)} ms wall / ${med(firsts.map((x) => x.cpu)).toFixed(0)} ms CPU; slowest ${Math.max(...firsts.map((x) => x.wall)).toFixed(0)} wall / ${Math.max(...firsts.map((x) => x.cpu)).toFixed(0)} CPU`);
    console.log(`  by stage (all first pictures): ${stageLine(firsts)}`);
  }
}

if (parts.has('warm') || parts.has('decode')) {
  const src = await loadSources();
  const marker = big(src, 'marker');
  if (parts.has('warm')) {
    for (const p of pipelines) {
      const { preprocessImage, onStage } = await loadPipeline(p);
      const first = await timed(() => preprocessImage(marker), onStage);
      console.log(`warm, pipeline ${p}: (first picture in this process: ${show(first)})`);
      const all: Timing[] = [];
      for (const c of ['clean', 'shadow', 'ruled', 'chalk', 'marker'] as Condition[]) {
        const img = big(src, c);
        const runs: Timing[] = [];
        for (let i = 0; i < 5; i++) runs.push(await timed(() => preprocessImage(img), onStage));
        all.push(...runs);
        console.log(`  ${c.padEnd(7)} ${runs.map(show).join(', ')}; median ${med(runs.map((r) => r.wall)).toFixed(0)} ms wall / ${med(runs.map((r) => r.cpu)).toFixed(0)} ms CPU`);
      }
      // the last 5 of each condition's runs are what a long-running process settles to
      console.log(`  all ${all.length} runs: median ${med(all.map((r) => r.wall)).toFixed(0)} ms wall / ${med(all.map((r) => r.cpu)).toFixed(0)} ms CPU, slowest ${Math.max(...all.map((r) => r.cpu)).toFixed(0)} ms CPU`);
      console.log(`  by stage: ${stageLine(all)}`);
    }
  }
  if (parts.has('decode')) {
    // decoding, which mnist-predict does first: the same 12 MP picture as a JPEG (quality 85) and a PNG
    for (const [name, bytes] of [['JPEG', encoded(marker, 'jpeg')], ['PNG', encoded(marker, 'png')]] as const) {
      const r = await timed(() => decodeImage(bytes), () => {});
      console.log(`decoding the 12 MP ${name} (${(bytes.length / 1e6).toFixed(1)} MB), first in the process: ${show(r)}`);
    }
  }
}

if (parts.has('decode-cold')) {
  const N = Number(values.cold);
  console.log(`decode-cold: the first decoding of ${N} fresh processes per format and pipeline (medians, min–max)`);
  const res = new Map<string, Timing[]>();
  for (let r = 0; r < N; r++) {
    for (const f of ['png', 'jpeg']) {
      for (const p of pipelines) {
        const out = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child-decode', f, '--pipeline', p, '--size', values.size], { encoding: 'utf8', maxBuffer: 1 << 30 });
        const line = out.stdout.split('\n').find((l) => l.startsWith('@@'));
        if (!line) throw new Error(`child ${f} ${p} failed: ${out.stderr}`);
        res.set(`${p}\t${f}`, [...(res.get(`${p}\t${f}`) ?? []), JSON.parse(line.slice(2)) as Timing]);
      }
    }
  }
  for (const p of pipelines) {
    for (const f of ['png', 'jpeg']) {
      const rs = res.get(`${p}\t${f}`)!;
      const range = (k: 'wall' | 'cpu') => `${Math.min(...rs.map((x) => x[k])).toFixed(0)}–${Math.max(...rs.map((x) => x[k])).toFixed(0)}`;
      console.log(`  ${p} ${f}: ${med(rs.map((x) => x.wall)).toFixed(0)} ms wall (${range('wall')}) / ${med(rs.map((x) => x.cpu)).toFixed(0)} ms CPU (${range('cpu')}), GC ${med(rs.map((x) => x.gc)).toFixed(0)}`);
    }
  }
}
