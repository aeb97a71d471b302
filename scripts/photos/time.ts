// Time per picture for a 12-megapixel photo (4000×3000): one scene of each of a few conditions
// scaled up, each read 3 times; prints wall and CPU milliseconds (the machine may be shared).
// Usage: npx tsx scripts/photos/time.ts
import { preprocessImage } from '../../src/data/image.ts';
import type { RgbaImage } from '../../src/data/image-io.ts';
import { makeScene, type Condition } from './scenes.ts';
import { loadSources } from './sources.ts';

const src = await loadSources();
function upscale(img: RgbaImage, W: number, H: number): RgbaImage {
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / H));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(img.width - 1, Math.floor((x * img.width) / W));
      data.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx) * 4 + 4), (y * W + x) * 4);
    }
  }
  return { width: W, height: H, data };
}
for (const c of ['clean', 'shadow', 'ruled', 'chalk'] as Condition[]) {
  const s = makeScene(src, c, 0, 1);
  const big = s.image.width > s.image.height ? upscale(s.image, 4000, 3000) : upscale(s.image, 3000, 4000);
  const runs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now(), u = process.cpuUsage();
    preprocessImage(big);
    const cpu = process.cpuUsage(u);
    runs.push(`${(performance.now() - t).toFixed(0)} ms wall / ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`);
  }
  console.log(`${c} 12 MP: ${runs.join(', ')}`);
}
