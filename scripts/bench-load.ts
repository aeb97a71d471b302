// npx tsx scripts/bench-load.ts FILE [--runs 20]: CPU milliseconds to load a weights file as the
// commands do (read, parse, validate, build the model), beside JSON.parse of the same text alone.
//
// Loads run in one process after two warm-up loads; the table shows the median and the minimum of
// the process's CPU time (user + system) per load, so other jobs on the machine matter less.
import { readFileSync, statSync } from 'node:fs';
import { readWeightsFile } from '../src/cli/weights-file.ts';

const [path, ...rest] = process.argv.slice(2);
if (!path) throw new Error('usage: tsx scripts/bench-load.ts FILE [--runs N]');
const runs = rest[0] === '--runs' ? Number(rest[1]) : 20;

function cpuMs(f: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t = process.cpuUsage();
    f();
    const d = process.cpuUsage(t);
    if (i >= 2) out.push((d.user + d.system) / 1000);
  }
  return out.sort((a, b) => a - b);
}

const row = (name: string, ms: number[]) =>
  console.log(`${name.padEnd(28)} median ${ms[ms.length >> 1].toFixed(1).padStart(7)} ms   min ${ms[0].toFixed(1).padStart(7)} ms`);

const text = readFileSync(path, 'utf8');
console.log(`${path}: ${statSync(path).size.toLocaleString('en-US')} bytes, ${runs} loads each (CPU time per load)`);
row('JSON.parse only', cpuMs(() => JSON.parse(text)));
row('readWeightsFile (whole load)', cpuMs(() => readWeightsFile(path)));
