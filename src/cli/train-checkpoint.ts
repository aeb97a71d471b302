// mnist-train's checkpoints: the resume state written with every epoch and on Ctrl-C, restoring
// it for --resume, and the messages saying where a stopped run is and how to continue it.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MnistError } from '../engine/errors.ts';
import type { Rng, RngState } from '../engine/rng.ts';
import { defaultRng, manualSeed } from '../nn/init.ts';
import type { NamedParameter } from '../nn/sequential.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { LRScheduler } from '../optim/schedule.ts';
import { CheckpointError } from '../weights/checkpoint.ts';
import { captureResume, restoreOptimizer, type EpochPosition, type ResumeState } from '../weights/resume.ts';
import type { DivergenceError } from '../train/train.ts';
import type { ResumePlan } from './train-resume.ts';

/** The live objects a checkpoint is taken from and restored into. */
export interface LiveTraining {
  optimizer: Optimizer;
  params: readonly NamedParameter[];
  scheduler?: LRScheduler;
  /** The shuffling RNG (the global one, for init and dropout, is nn/init.ts's). */
  shuffleRng: Rng;
  /** Batches per epoch. */
  batches: number;
  /** The epoch total of the run. */
  epochs: number;
}

/** Puts a resumed run's optimizer, schedule and RNGs where the saved run left them. */
export function restoreTraining(plan: ResumePlan, live: LiveTraining): void {
  const r = plan.resume;
  if (r.batches !== live.batches) {
    throw new CheckpointError(
      `--resume ${plan.path}: the run had ${r.batches} batches per epoch, this data gives ${live.batches}`,
      'resume with the same dataset files (--data-dir) the run was started with',
    );
  }
  try {
    restoreOptimizer(live.optimizer, r, live.params);
  } catch (err) {
    if (err instanceof MnistError) throw new CheckpointError(`--resume ${plan.path}: ${err.message}`, err.hint);
    throw err;
  }
  if (live.scheduler && r.scheduler) live.scheduler.loadState(r.scheduler);
  manualSeed(0).setState(r.rng.init);
  live.shuffleRng.setState(r.rng.shuffle);
}

/**
 * The resume state now: after `epoch` completed epochs, or inside the next one at `position`
 * (then `shuffleState` is the shuffling RNG's state at that epoch's start).
 */
export function snapshot(live: LiveTraining, epoch: number, position?: EpochPosition & { shuffleState: RngState }): ResumeState {
  return captureResume({
    epoch,
    epochs: live.epochs,
    batches: live.batches,
    position: position && {
      batchesDone: position.batchesDone, lossSum: position.lossSum, correct: position.correct, samples: position.samples, seconds: position.seconds,
    },
    optimizer: live.optimizer,
    params: live.params,
    scheduler: live.scheduler && { lastEpoch: live.scheduler.lastEpoch },
    initRng: defaultRng(),
    shuffleState: position?.shuffleState ?? live.shuffleRng.getState(),
  });
}

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How the user can run mnist-train again: `npx mnist-train` when this run came through npm
 * (npx, npm run) or the command is not on PATH, else plain `mnist-train`.
 */
export function trainCommandWord(env: NodeJS.ProcessEnv = process.env, onPath = (name: string) => onSearchPath(name, env.PATH)): string {
  return env.npm_command !== undefined || env.npm_execpath !== undefined || !onPath('mnist-train') ? 'npx mnist-train' : 'mnist-train';
}

function onSearchPath(name: string, path: string | undefined): boolean {
  return (path ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
}

/** `npx mnist-train --resume w.json` plus the flags that are not stored in the file (data dir, log). */
export function resumeCommand(out: string, extra: Record<string, string | number | undefined>, command = trainCommandWord()): string {
  const words = [command, '--resume', shellWord(out)];
  for (const [flag, v] of Object.entries(extra)) if (v !== undefined) words.push(flag, shellWord(String(v)));
  return words.join(' ');
}

/** A number as a flag takes it and a person reads it: 1e29 rather than 1e+29. */
function flagNumber(x: number): string {
  return String(x).replace('e+', 'e');
}

/** The divergence message with a hint fitted to the run: the lr to try, and what is on disk. */
export function explainDivergence(err: DivergenceError, o: { lr: number; out: string; savedEpoch?: number }): MnistError {
  const lower = Number((o.lr / 10).toPrecision(3));
  const kept = o.savedEpoch === undefined
    ? 'no weights file was written by this run'
    : `${o.out} keeps the weights of epoch ${o.savedEpoch}`;
  return new MnistError(err.message, `lower the learning rate (it is ${flagNumber(o.lr)}; try --lr ${flagNumber(lower)}); ${kept}`);
}
