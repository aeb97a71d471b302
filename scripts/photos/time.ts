// Time per picture for a 12-megapixel photo (4000×3000): one scene of each of a few conditions
// scaled up, each read 5 times; prints wall and CPU milliseconds (the machine may be shared), the
// main thread's garbage-collection pauses, and the median CPU time. The very first picture a
// process reads also pays for compiling the code: that one is timed on its own first, as a CLI
// user (one picture per process) meets it. Decoding is not in those figures: it is timed at the
// end, the first JPEG and the first PNG the process decodes (what mnist-predict does before
// reading the picture).
// Usage: npx tsx scripts/photos/time.ts
import { PerformanceObserver } from 'node:perf_hooks';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, type RgbaImage } from '../../src/data/image-io.ts';
import { preprocessImage } from '../../src/data/image.ts';
import { makeScene, type Condition } from './scenes.ts';
import { loadSources } from './sources.ts';

const src = await loadSources();
// a pixel at a time as one 32-bit word: no garbage left for the collector to charge to the
// pictures timed next
function upscale(img: RgbaImage, W: number, H: number): RgbaImage {
  const data = new Uint8Array(W * H * 4);
  const to = new Uint32Array(data.buffer), from = new Uint32Array(Uint8Array.from(img.data).buffer);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / H));
    for (let x = 0; x < W; x++) to[y * W + x] = from[sy * img.width + Math.min(img.width - 1, Math.floor((x * img.width) / W))];
  }
  return { width: W, height: H, data };
}

// garbage-collection pauses of the main thread, summed since the last read
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
// gc entries arrive asynchronously: let them in before reading the sum
const settle = () => new Promise((r) => setTimeout(r, 0));

async function timed(f: () => unknown): Promise<{ wall: number; cpu: number; gc: number }> {
  await settle();
  gcMs = 0;
  const t = performance.now(), u = process.cpuUsage();
  f();
  const cpu = process.cpuUsage(u);
  const wall = performance.now() - t;
  await settle();
  return { wall, cpu: (cpu.user + cpu.system) / 1000, gc: gcMs };
}
const show = (r: { wall: number; cpu: number; gc: number }) => `${r.wall.toFixed(0)} ms wall / ${r.cpu.toFixed(0)} ms CPU (GC ${r.gc.toFixed(0)} ms)`;
const big = (c: Condition) => {
  const s = makeScene(src, c, 0, 1);
  return s.image.width > s.image.height ? upscale(s.image, 4000, 3000) : upscale(s.image, 3000, 4000);
};

const marker = big('marker');
const first = await timed(() => preprocessImage(marker));
console.log(`first picture read (marker 12 MP, compiling included): ${show(first)}`);
const all: number[] = [];
for (const c of ['clean', 'shadow', 'ruled', 'chalk'] as Condition[]) {
  const img = big(c);
  const runs: Awaited<ReturnType<typeof timed>>[] = [];
  for (let i = 0; i < 5; i++) runs.push(await timed(() => preprocessImage(img)));
  all.push(...runs.map((r) => r.cpu));
  const cpus = runs.map((r) => r.cpu).sort((a, b) => a - b);
  console.log(`${c} 12 MP: ${runs.map(show).join(', ')}; median ${cpus[2].toFixed(0)} ms CPU`);
}
all.sort((a, b) => a - b);
console.log(`all 20 runs: median ${all[10].toFixed(0)} ms CPU, slowest ${all[all.length - 1].toFixed(0)} ms CPU`);

// decoding, which mnist-predict does first: the same 12 MP picture as a JPEG (quality 85) and a PNG
const jpg = jpeg.encode({ width: marker.width, height: marker.height, data: Buffer.from(marker.data.buffer) }, 85).data;
const png = new PNG({ width: marker.width, height: marker.height });
png.data = Buffer.from(marker.data.buffer);
const pngBytes = PNG.sync.write(png);
for (const [name, bytes] of [['JPEG', jpg], ['PNG', pngBytes]] as const) {
  const r = await timed(() => decodeImage(bytes));
  console.log(`decoding the 12 MP ${name} (${(bytes.length / 1e6).toFixed(1)} MB), first in the process: ${show(r)}`);
}
