// The worked example from the user's notes: a 5x5 single-channel input through Conv2d (fixed
// 3x3 weight, no bias), ReLU, MaxPool2d(2, stride 2, padding 1) and Flatten.
// Run: npx tsx examples/notes-example.ts
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../src/engine/tensor.ts';
import { Conv2d } from '../src/nn/conv2d.ts';
import { Flatten } from '../src/nn/flatten.ts';
import { MaxPool2d } from '../src/nn/max-pool2d.ts';
import { ReLU } from '../src/nn/relu.ts';
import { Sequential } from '../src/nn/sequential.ts';

export interface NotesExample {
  input: Tensor;
  conv: Tensor;
  relu: Tensor;
  pool: Tensor;
  flat: Tensor;
}

/** Builds the notes' model, runs it, and returns a copy of every intermediate tensor. */
export function notesExample(): NotesExample {
  // models take 4-D input: batch, channels, height, width -> reshape to [1, 1, 5, 5]
  const input = Tensor.from([1, 1, 5, 5], [
    3, 3, 2, 1, 0,
    2, 3, 2, 1, 0,
    3, 3, 2, 1, 0,
    4, 3, 2, 1, 0,
    1, 3, 2, 1, 0,
  ]);
  const conv = new Conv2d(1, 1, 3, { stride: 1, padding: 0, dilation: 1, groups: 1, bias: false });
  conv.weight.value.data.set([
    0, 1, 2,
    2, 2, 0,
    0, 1, 2,
  ]);
  const model = new Sequential(conv, new ReLU(), new MaxPool2d(2, { stride: 2, padding: 1 }), new Flatten());
  const [c, r, p, f] = model.forwardTrace(input);
  return { input, conv: c, relu: r, pool: p, flat: f };
}

/** One line per row of each [H, W] plane, numbers right-aligned. */
export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const w = shape[shape.length - 1];
  const h = shape.length >= 2 ? shape[shape.length - 2] : 1;
  const cells = [...t.data].map((v) => String(v));
  const width = Math.max(...cells.map((s) => s.length));
  const lines: string[] = [];
  for (let plane = 0; plane * h * w < cells.length; plane++) {
    if (shape.length > 2 && plane > 0) lines.push('');
    for (let y = 0; y < h; y++) {
      const row = cells.slice((plane * h + y) * w, (plane * h + y + 1) * w);
      lines.push(`  [${row.map((s) => s.padStart(width)).join(', ')}]`);
    }
  }
  return lines.join('\n');
}

function main(): void {
  const r = notesExample();
  const steps: [string, Tensor][] = [
    ['input', r.input],
    ['Conv2d(1, 1, 3, bias=False), weight [[0,1,2],[2,2,0],[0,1,2]]', r.conv],
    ['ReLU', r.relu],
    ['MaxPool2d(2, stride=2, padding=1)', r.pool],
    ['Flatten', r.flat],
  ];
  for (const [name, t] of steps) console.log(`${name}  [${t.shape.join(', ')}]\n${formatTensor(t)}\n`);
}

const invokedPath = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedPath === realpathSync(fileURLToPath(import.meta.url))) main();
