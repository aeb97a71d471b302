// mnist-train's checks before any work (issue 11, cases 6, 7 and 8), in process: the memory and
// file-size estimate from the model and batch, threads capped at the cores, warnings for flags the
// optimizer or schedule ignores, the resume command an npx user can run, a sane divergence hint.
import { describe, expect, it } from 'vitest';
import { explainDivergence, resumeCommand, trainCommandWord } from '../../src/cli/train-checkpoint.ts';
import {
  activationSizes, capThreads, checkFileSize, checkMemory, checkModelSpecs, ignoredFlagWarnings, optimizerBuffers,
} from '../../src/cli/train-preflight.ts';
import { UsageError } from '../../src/cli/train-resume.ts';
import { Rng } from '../../src/engine/rng.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { BASE_BYTES, estimateMemory } from '../../src/train/memory.ts';
import { DivergenceError } from '../../src/train/train.ts';

const MB = 2 ** 20;

describe('memory and file-size estimate (case 6)', () => {
  it('adds up its parts as worked by hand', () => {
    const e = estimateMemory({ params: 100, activations: [4, 10], batchSize: 2, evalBatch: 3, optimizerBuffers: 2, threads: 2 });
    // parameters + gradients 100·4·2; Adam's two moments 100·4·2; one worker replica 100·4·2;
    // training activations 2·(4+10)·4·3 = 336 beat evaluation 3·10·4·1.25 = 150; saving 300 numbers · 40 B
    expect(e).toEqual({ parameters: 800, optimizer: 800, replicas: 800, activations: 336, checkpoint: 12_000, base: BASE_BYTES, total: 800 * 3 + 336 + 12_000 + BASE_BYTES, fileBytes: 300 * 16 + 65_536 });
  });

  it('--hidden 18000 is refused before building: its file (with Adam\'s state) would be past what the reader takes', () => {
    const specs = mlpSpecs([18000]);
    const params = checkModelSpecs(specs, 'mlp');
    expect(params).toBe(784 * 18000 + 18000 + 18000 * 10 + 10);
    expect(() => checkFileSize(params, optimizerBuffers('adam', 0.9), 'mlp'))
      .toThrow('--hidden: 14,310,010 parameters make a weights file of up to 655 MB with its resume state; mnist-ts reads weights files of at most 512 MB');
    // plain SGD stores no buffers: the same model fits
    expect(() => checkFileSize(params, optimizerBuffers('sgd', 0), 'mlp')).not.toThrow();
  });

  it('--hidden 100000 is refused before building: past the reader\'s parameter limit', () => {
    expect(() => checkModelSpecs(mlpSpecs([100000]), 'mlp')).toThrow(/^--hidden: layer \d: Linear .* takes the model past 50,000,000 parameters/);
  });

  it('--arch "conv(1000,3) relu flatten linear(10)" is estimated at about the 3.3 GB measured, and refused under a lower --max-memory', () => {
    const specs = parseArch('conv(1000,3) relu flatten linear(10)');
    const params = checkModelSpecs(specs, 'arch');
    const model = buildModel(specs, new Rng(0));
    const acts = activationSizes(model, [1, 28, 28]);
    expect(acts).toEqual([784, 676_000, 676_000, 676_000, 10]);
    const e = estimateMemory({ params, activations: acts, batchSize: 64, evalBatch: 1000, optimizerBuffers: 2, threads: 1 });
    expect(e.activations).toBe(1000 * 676_000 * 4 * 1.25);
    expect(e.total / 2 ** 30).toBeGreaterThan(3.3);
    expect(e.total / 2 ** 30).toBeLessThan(5);
    expect(() => checkMemory(e, 2048, true)).toThrow(/^this run needs about 4\.\d GB of memory \(activations 3\.1 GB, saving \d+ MB\); the limit is 2\.0 GB \(--max-memory\)$/);
    expect(() => checkMemory(e, 8192, true)).not.toThrow();
  });

  it('an ordinary run (the default MLP, batch 64, 2 threads) is far below any machine\'s limit', () => {
    const specs = mlpSpecs([256]);
    const e = estimateMemory({ params: checkModelSpecs(specs, 'mlp'), activations: activationSizes(buildModel(specs, new Rng(0)), [1, 28, 28]), batchSize: 64, evalBatch: 1000, optimizerBuffers: 2, threads: 2 });
    expect(e.total).toBeLessThan(300 * MB);
    expect(e.fileBytes).toBeLessThan(10 * MB);
  });
});

describe('threads and ignored flags (cases 6, 7)', () => {
  it('--threads 64 on 2 cores trains on 2, with a note', () => {
    expect(capThreads(64, 2)).toEqual({ threads: 2, note: '64 threads asked for, but this machine has 2 cores: training on 2' });
    expect(capThreads(2, 2)).toEqual({ threads: 2 });
  });

  it('--momentum and --nesterov with adam, --gamma and --step-size with cosine-restarts: one warning each', () => {
    const typed = new Set(['momentum', 'nesterov', 'gamma', 'stepSize']);
    expect(ignoredFlagWarnings({ optimizer: 'adam', scheduler: 'cosine-restarts' }, (k) => typed.has(k))).toEqual([
      '--momentum is ignored: only --optimizer sgd uses it (this run uses adam)',
      '--nesterov is ignored: only --optimizer sgd uses it (this run uses adam)',
      '--step-size is ignored: only --scheduler step uses it (this run uses cosine-restarts)',
      '--gamma is ignored: only --scheduler step uses it (this run uses cosine-restarts)',
    ]);
    expect(ignoredFlagWarnings({ optimizer: 'sgd', scheduler: 'step' }, (k) => typed.has(k))).toEqual([]);
    // defaults are not typed: no warning
    expect(ignoredFlagWarnings({ optimizer: 'adam', scheduler: 'none' }, () => false)).toEqual([]);
  });
});

describe('messages a user acts on (case 8)', () => {
  it('the resume hint is a command an npx user can run', () => {
    expect(trainCommandWord({ npm_command: 'exec' }, () => true)).toBe('npx mnist-train');
    expect(trainCommandWord({}, () => false)).toBe('npx mnist-train');
    expect(trainCommandWord({}, () => true)).toBe('mnist-train');
    expect(resumeCommand('my w.json', { '--log': 'l.csv' }, 'npx mnist-train')).toBe("npx mnist-train --resume 'my w.json' --log l.csv");
  });

  it('the divergence hint for --lr 1e30 suggests --lr 1e29, a number the flag takes as typed', () => {
    const err = explainDivergence(new DivergenceError(1, 1, Number.NaN), { lr: 1e30, out: 'w.json' });
    expect(err.hint).toBe('lower the learning rate (it is 1e30; try --lr 1e29); no weights file was written by this run');
    expect(explainDivergence(new DivergenceError(1, 1, Number.NaN), { lr: 0.5, out: 'w.json', savedEpoch: 2 }).hint).toContain('try --lr 0.05); w.json keeps the weights of epoch 2');
  });

  it('a refusal is a UsageError: one line, exit 1, before any work', () => {
    expect(() => checkModelSpecs(mlpSpecs([100000]), 'mlp')).toThrow(UsageError);
  });
});
