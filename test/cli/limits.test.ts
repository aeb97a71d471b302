// One table of limits (issue 11, cases 4 and 7): flag values drawn across their whole accepted
// ranges, parsed by mnist-train's own flag parsers, make weights-file fields that the reader
// behind --resume, mnist-eval and mnist-predict accepts; one step outside, both refuse.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { limited } from '../../src/cli/flags.ts';
import { trainProgram, trainingFields, type TrainOptions } from '../../src/cli/train.ts';
import { snapshot } from '../../src/cli/train-checkpoint.ts';
import { planResume, settingsFromFile } from '../../src/cli/train-resume.ts';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { buildModel } from '../../src/nn/models.ts';
import { Adam, AdamW } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { CosineAnnealingLR, CosineAnnealingWarmRestarts, StepLR, type LRScheduler } from '../../src/optim/schedule.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { FORMAT, VERSION, serializeWeights, stateDict, type WeightsFile } from '../../src/weights/checkpoint.ts';
import { RUN_LIMITS, type Limit } from '../../src/weights/limits.ts';

const tmp = mkdtempSync(join(tmpdir(), 'limits-'));

/** Flags with a range in the table, and how each is typed. */
const FLAGS: [key: keyof typeof RUN_LIMITS, flag: string][] = [
  ['epochs', '--epochs'], ['batchSize', '--batch-size'], ['stepSize', '--step-size'], ['lr', '--lr'], ['gamma', '--gamma'],
  ['weightDecay', '--weight-decay'], ['momentum', '--momentum'], ['seed', '--seed'], ['limit', '--limit'], ['testLimit', '--test-limit'],
  ['threads', '--threads'],
];

/** A value in the range: its ends a fifth of the time each, else log-uniform inside. */
function draw(rng: Rng, l: Limit): number {
  const u = rng.next();
  if (u < 0.2) return l.min;
  if (u < 0.4) return l.max;
  const lo = Math.max(l.min, l.kind === 'int' ? 1 : 1e-300);
  const v = Math.exp(Math.log(lo) + rng.next() * (Math.log(l.max) - Math.log(lo)));
  const x = l.kind === 'int' ? Math.min(l.max, Math.max(l.min, Math.round(v))) : Math.min(l.max, v);
  return l.min === 0 && rng.next() < 0.1 ? 0 : x;
}

function parseFlags(args: string[]): TrainOptions {
  const program = trainProgram().exitOverride();
  program.parse(args, { from: 'user' });
  return program.opts() as TrainOptions;
}

/** The weights file mnist-train writes for these settings, on a tiny model, stopped before its first epoch. */
function weightsFor(opts: TrainOptions): WeightsFile {
  const specs = parseArch('flatten linear(10)', [1, 2, 2], 10);
  const model = buildModel(specs, new Rng(0));
  const params = model.parameters();
  const lr = opts.lr ?? (opts.optimizer === 'sgd' ? 0.01 : 1e-3);
  let optimizer: Optimizer;
  if (opts.optimizer === 'sgd') optimizer = new SGD(params, { lr, momentum: opts.momentum, nesterov: opts.nesterov, weightDecay: opts.weightDecay });
  else if (opts.optimizer === 'adamw') optimizer = new AdamW(params, { lr, weightDecay: opts.weightDecay });
  else optimizer = new Adam(params, { lr, weightDecay: opts.weightDecay });
  const batches = Math.ceil(Math.min(opts.limit ?? 60_000, 60_000) / opts.batchSize);
  let scheduler: LRScheduler | undefined;
  if (opts.scheduler === 'step') scheduler = new StepLR(optimizer, { stepSize: opts.stepSize, gamma: opts.gamma });
  if (opts.scheduler === 'cosine') scheduler = new CosineAnnealingLR(optimizer, { tMax: opts.epochs });
  if (opts.scheduler === 'cosine-restarts') scheduler = new CosineAnnealingWarmRestarts(optimizer, { t0: batches });
  const live = { optimizer, params: model.namedParameters(), scheduler, shuffleRng: new Rng(opts.seed + 1), batches, epochs: opts.epochs };
  return {
    format: FORMAT, version: VERSION, createdAt: new Date().toISOString(),
    model: { name: 'arch', arch: 'flatten linear(10)', layers: specs },
    input: { shape: [1, 2, 2], mean: 0.1307, std: 0.3081 },
    classes: [...'0123456789'], dataset: 'mnist',
    training: trainingFields(opts, { lr, weightDecay: optimizer instanceof SGD ? optimizer.weightDecay : (optimizer as Adam).weightDecay, tMax: opts.epochs, threads: opts.threads ?? 1 }),
    metrics: [], state: stateDict(model), resume: snapshot(live, 0),
  };
}

describe('flags and the weights-file reader share one table of limits', () => {
  it('300 runs drawn across every flag\'s whole range write files that --resume, mnist-eval and mnist-predict read back', () => {
    const rng = new Rng(11);
    for (let run = 0; run < 300; run++) {
      const args: string[] = [];
      const drawn: Record<string, number> = {};
      for (const [key, flag] of FLAGS) {
        if (rng.next() < 0.3 && key !== 'epochs' && key !== 'batchSize') continue;
        drawn[key] = draw(rng, RUN_LIMITS[key]);
        args.push(flag, String(drawn[key]));
      }
      args.push('--optimizer', ['adam', 'adamw', 'sgd'][rng.int(3)], '--scheduler', ['none', 'step', 'cosine', 'cosine-restarts'][rng.int(4)]);
      if (rng.next() < 0.5) args.push('--nesterov');
      const opts = parseFlags(args);
      if (opts.nesterov && opts.momentum === 0) continue; // refused by mnist-train before any work
      for (const [key, v] of Object.entries(drawn)) expect(opts[key as keyof TrainOptions], `${key} from ${args.join(' ')}`).toBe(v);

      const path = join(tmp, `run-${run}.json`);
      writeFileSync(path, serializeWeights(weightsFor(opts)));
      // mnist-eval and mnist-predict read it with readWeightsFile; --resume with planResume
      const { file } = readWeightsFile(path);
      expect(file.resume?.epochs).toBe(opts.epochs);
      const plan = planResume({ ...opts, resume: path } as never, () => false, () => '');
      expect(plan.epochs, args.join(' ')).toBe(opts.epochs);
      expect(plan.settings).toMatchObject({ optimizer: opts.optimizer, batchSize: opts.batchSize, seed: opts.seed, limit: opts.limit, testLimit: opts.testLimit });
      if (opts.optimizer === 'sgd') expect(plan.settings.momentum).toBe(opts.momentum);
      if (opts.scheduler === 'step') expect([plan.settings.stepSize, plan.settings.gamma]).toEqual([opts.stepSize, opts.gamma]);
    }
  });

  it.each(FLAGS)('one step past the range of %s, the flag and the reader both refuse, with the same words', (key, flag) => {
    const l: Limit = RUN_LIMITS[key];
    const past = l.kind === 'int' ? l.max + 1 : l.max === 1e9 ? 1e10 : 1;
    expect(() => limited(l)(String(past))).toThrow(InvalidArgumentError);
    expect(() => limited(l)(String(past))).toThrow(`must be ${l.text}.`);
    expect(() => parseFlags([flag, String(past)])).toThrow(`must be ${l.text}.`);
    if (key === 'epochs') return; // epochs is stored under resume.epochs, checked below
    const file = { training: { optimizer: 'sgd', scheduler: 'step', lr: 0.1, momentum: 0.9, stepSize: 1, gamma: 0.5, batchSize: 64, seed: 1, [key]: past }, dataset: 'mnist' };
    expect(() => settingsFromFile(file as unknown as WeightsFile)).toThrow(`training.${key}: expected ${l.text}, found ${past}`);
  });

  it('the cases of the issue are refused at the flag: --epochs 1000000000, --batch-size 2000000, --step-size 2000000, --weight-decay 1e10', () => {
    for (const [flag, v] of [['--epochs', '1000000000'], ['--batch-size', '2000000'], ['--step-size', '2000000'], ['--weight-decay', '1e10']]) {
      expect(() => parseFlags([flag, v]), flag).toThrow(/must be an? (integer|number)/);
    }
    // and --epochs 1000000, the largest accepted, is what the reader takes as resume.epochs
    expect(parseFlags(['--epochs', '1000000']).epochs).toBe(RUN_LIMITS.epochs.max);
  });

  it('--seed takes exactly the 32 bits the generator uses: 4294967295 is a run of its own, 4294967296 and 2^53 are refused', () => {
    expect(parseFlags(['--seed', '4294967295']).seed).toBe(4294967295);
    expect(new Rng(4294967295).nextU32()).not.toBe(new Rng(0).nextU32());
    for (const v of ['4294967296', '4294967297', '9007199254740992']) {
      expect(() => parseFlags(['--seed', v])).toThrow("option '--seed <n>' argument '" + v + "' is invalid. must be an integer 0..4294967295.");
    }
  });
});
