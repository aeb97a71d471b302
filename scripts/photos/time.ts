// Time per picture for a 12-megapixel photo (4000×3000): one scene of each of a few conditions
// scaled up, each read 5 times; prints wall and CPU milliseconds (the machine may be shared) and
// the median CPU time. The very first picture a process reads also pays for compiling the code:
// that one is timed on its own first.
// Usage: npx tsx scripts/photos/time.ts
import { preprocessImage } from '../../src/data/image.ts';
import type { RgbaImage } from '../../src/data/image-io.ts';
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
function timed(img: RgbaImage): { wall: number; cpu: number } {
  const t = performance.now(), u = process.cpuUsage();
  preprocessImage(img);
  const cpu = process.cpuUsage(u);
  return { wall: performance.now() - t, cpu: (cpu.user + cpu.system) / 1000 };
}
const big = (c: Condition) => {
  const s = makeScene(src, c, 0, 1);
  return s.image.width > s.image.height ? upscale(s.image, 4000, 3000) : upscale(s.image, 3000, 4000);
};
const first = timed(big('marker'));
console.log(`first picture read (marker 12 MP, compiling included): ${first.wall.toFixed(0)} ms wall / ${first.cpu.toFixed(0)} ms CPU`);
const all: number[] = [];
for (const c of ['clean', 'shadow', 'ruled', 'chalk'] as Condition[]) {
  const img = big(c);
  const runs = Array.from({ length: 5 }, () => timed(img));
  all.push(...runs.map((r) => r.cpu));
  const cpus = runs.map((r) => r.cpu).sort((a, b) => a - b);
  console.log(`${c} 12 MP: ${runs.map((r) => `${r.wall.toFixed(0)} ms wall / ${r.cpu.toFixed(0)} ms CPU`).join(', ')}; median ${cpus[2].toFixed(0)} ms CPU`);
}
all.sort((a, b) => a - b);
console.log(`all 20 runs: median ${all[10].toFixed(0)} ms CPU, slowest ${all[all.length - 1].toFixed(0)} ms CPU`);
