// mnist-train --resume: the model, data and hyper-parameters of a resumed run come from the
// weights file. A flag that would change them is refused with one line naming both values, so
// the resumed run is the run it continues (and bit-identical to one that never stopped).
import { AUGMENT_MODES, type AugmentMode } from '../data/augment.ts';
import { MnistError } from '../engine/errors.ts';
import { formatArch } from '../nn/arch.ts';
import type { Sequential } from '../nn/sequential.ts';
import { CheckpointError, type WeightsFile } from '../weights/checkpoint.ts';
import { fail, get } from '../weights/json-fields.ts';
import { RUN_LIMITS, readLimited } from '../weights/limits.ts';
import { batchesTrained, type ResumeState } from '../weights/resume.ts';
import { readWeightsFile } from './weights-file.ts';

/** A usage mistake on the command line (conflicting flags, nothing left to do). */
export class UsageError extends MnistError {}

/** The settings a run trains with (flags for a new run, the file for a resumed one). */
export interface RunSettings {
  optimizer: 'adam' | 'adamw' | 'sgd';
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  scheduler: 'none' | 'step' | 'cosine' | 'cosine-restarts';
  stepSize: number;
  gamma: number;
  /** Cosine schedule length; kept from the file on resume (as PyTorch's state_dict keeps T_max). */
  tMax: number;
  batchSize: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  dataset: 'mnist' | 'fashion-mnist';
  /** Training-image augmentation (files before this field: none). */
  augment: AugmentMode;
  /** Threads the run trained with (files before this field: unknown); the sums' order depends on it. */
  threads?: number;
  /** Kernels the run trained with (files before this field: unknown); the rounding depends on them. */
  backend?: 'wasm' | 'js';
}

export interface ResumePlan {
  path: string;
  file: WeightsFile;
  model: Sequential;
  resume: ResumeState;
  settings: RunSettings;
  /** The epoch total to train to. */
  epochs: number;
}

function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T)) fail(path, `one of ${options.join(', ')}`, v);
  return v as T;
}

/** The run's settings from the file's `training` block, each checked (it is untrusted input). */
export function settingsFromFile(file: WeightsFile): RunSettings {
  const t = file.training;
  const p = (k: string) => `training.${k}`;
  const optimizer = oneOf(get(t, 'optimizer'), p('optimizer'), ['adam', 'adamw', 'sgd'] as const);
  const scheduler = oneOf(get(t, 'scheduler') ?? 'none', p('scheduler'), ['none', 'step', 'cosine', 'cosine-restarts'] as const);
  const L = RUN_LIMITS;
  const read = (k: keyof typeof L) => readLimited(get(t, k), p(k), L[k]);
  const optional = (k: keyof typeof L) => (get(t, k) == null ? undefined : read(k));
  return {
    optimizer,
    lr: read('lr'),
    momentum: optimizer === 'sgd' ? read('momentum') : 0.9,
    nesterov: optimizer === 'sgd' ? get(t, 'nesterov') === true : false,
    weightDecay: get(t, 'weightDecay') == null ? 0 : read('weightDecay'),
    scheduler,
    stepSize: scheduler === 'step' ? read('stepSize') : 2,
    gamma: scheduler === 'step' ? read('gamma') : 0.5,
    tMax: scheduler === 'cosine' ? read('tMax') : 1,
    batchSize: read('batchSize'),
    seed: read('seed'),
    limit: optional('limit'),
    testLimit: optional('testLimit'),
    threads: optional('threads'),
    backend: get(t, 'backend') == null ? undefined : oneOf(get(t, 'backend'), p('backend'), ['wasm', 'js'] as const),
    dataset: oneOf(file.dataset, 'dataset', ['mnist', 'fashion-mnist'] as const),
    augment: oneOf(get(t, 'augment') ?? 'none', p('augment'), AUGMENT_MODES),
  };
}

/** Flags a resumed run takes from the file, with how each shows on the command line. */
const FILE_FLAGS: [key: keyof RunSettings, flag: string][] = [
  ['optimizer', '--optimizer'], ['lr', '--lr'], ['momentum', '--momentum'], ['nesterov', '--nesterov'],
  ['weightDecay', '--weight-decay'], ['scheduler', '--scheduler'], ['stepSize', '--step-size'], ['gamma', '--gamma'],
  ['batchSize', '--batch-size'], ['seed', '--seed'], ['limit', '--limit'], ['testLimit', '--test-limit'], ['dataset', '--dataset'],
  ['augment', '--augment'],
];

export interface ResumeFlags {
  resume: string;
  epochs: number;
  model: string;
  arch?: string;
  hidden: number[];
  [key: string]: unknown;
}

/**
 * Reads the file named by --resume and works out the resumed run. `given(key)` tells whether a
 * flag was typed (rather than defaulted); `specsOf` turns model flags into an --arch string.
 */
export function planResume(o: ResumeFlags, given: (key: string) => boolean, archOf: (o: ResumeFlags) => string): ResumePlan {
  const path = o.resume;
  const { file, model } = readWeightsFile(path, { label: path });
  const resume = file.resume;
  if (!resume) {
    throw new CheckpointError(`${path}: has no resume state (only weights)`, 'files written by mnist-train since the --resume option carry it; start a new run without --resume');
  }
  if (file.metrics.length !== resume.epoch) {
    throw new CheckpointError(`${path}: resume.epoch: expected ${file.metrics.length} (the epochs in metrics), found ${resume.epoch}`);
  }
  let settings: RunSettings;
  try {
    settings = settingsFromFile(file);
  } catch (err) {
    if (err instanceof CheckpointError) throw new CheckpointError(`${path}: ${err.message}`, err.hint);
    throw err;
  }
  if (resume.optimizer.type !== { adam: 'Adam', adamw: 'AdamW', sgd: 'SGD' }[settings.optimizer]) {
    throw new CheckpointError(`${path}: resume.optimizer.type: ${resume.optimizer.type} state for training.optimizer ${settings.optimizer}`);
  }
  if ((resume.scheduler !== undefined) !== (settings.scheduler !== 'none')) {
    throw new CheckpointError(`${path}: resume.scheduler: ${resume.scheduler ? 'present' : 'missing'} for training.scheduler ${settings.scheduler}`);
  }
  // step and cosine count epochs, cosine-restarts counts batches
  const steps = settings.scheduler === 'cosine-restarts' ? batchesTrained(resume) : resume.epoch;
  if (resume.scheduler && resume.scheduler.lastEpoch !== steps) {
    throw new CheckpointError(`${path}: resume.scheduler.lastEpoch: expected ${steps} for training.scheduler ${settings.scheduler}, found ${resume.scheduler.lastEpoch}`);
  }

  const keep = 'a resumed run keeps the settings it was started with: drop the flag, or start a new run without --resume';
  for (const [key, flag] of FILE_FLAGS) {
    if (!given(key)) continue;
    const want = settings[key];
    if (o[key] !== want) {
      const shown = (v: unknown) => (typeof v === 'boolean' ? (v ? flag : `no ${flag}`) : v === undefined ? `no ${flag}` : `${flag} ${v}`);
      throw new UsageError(`${shown(o[key])} conflicts with --resume ${path}, which was trained with ${shown(want)}`, keep);
    }
  }
  if (given('model') || given('arch') || given('hidden')) {
    let asked: string, stored: string;
    try {
      asked = archOf(o);
      stored = formatArch(file.model.layers);
    } catch {
      asked = '?';
      stored = '';
    }
    if (asked !== stored) {
      throw new UsageError(`the model flags describe "${asked}", but --resume ${path} holds "${stored || file.model.arch || file.model.name}"`, keep);
    }
  }

  let epochs: number;
  const done = resume.epoch;
  if (given('epochs')) {
    epochs = o.epochs;
    if (epochs <= done) {
      throw new UsageError(`--epochs ${epochs}: --resume ${path} has already completed ${done} epoch${done === 1 ? '' : 's'}`, `ask for more, e.g. --epochs ${done + 5}`);
    }
  } else {
    epochs = resume.epochs;
    if (epochs <= done) {
      throw new UsageError(`--resume ${path}: training already finished (${done}/${epochs} epochs)`, `pass --epochs N with N > ${done} to train further`);
    }
  }
  return { path, file, model, resume, settings, epochs };
}
