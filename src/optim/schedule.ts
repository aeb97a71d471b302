// Epoch-level learning-rate schedules like torch.optim.lr_scheduler.StepLR and CosineAnnealingLR:
// construct after the optimizer, call step() once after each epoch.
import { ConfigError } from '../engine/errors.ts';
import type { Optimizer } from './optimizer.ts';

/** What a checkpoint stores to resume a schedule: the number of step() calls so far. */
export interface SchedulerState {
  lastEpoch: number;
}

/**
 * Sets optimizer.lr from a closed form in the epoch count, like PyTorch's `_get_closed_form_lr`.
 * PyTorch's step() uses an equivalent recursive form; the two agree to rounding (about 1e-15
 * relative), and the closed form makes a resumed schedule exactly the uninterrupted one.
 */
export abstract class LRScheduler {
  /** The optimizer's lr when the schedule was attached (PyTorch's base_lrs / initial_lr). */
  readonly baseLr: number;
  /** Number of step() calls so far; epoch e (0-based) trains at lrAt(e). */
  lastEpoch = 0;

  // NOTE: every schedule here has lrAt(0) = baseLr, so attaching one leaves the lr unchanged.
  constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
  }

  /** The learning rate in force after `epoch` calls to step(). */
  abstract lrAt(epoch: number): number;

  /** Advances to the next epoch; call once after each epoch's optimizer steps. */
  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
  }

  /** The lr in force now (PyTorch's get_last_lr()[0]). */
  lastLr(): number {
    return this.lrAt(this.lastEpoch);
  }

  state(): SchedulerState {
    return { lastEpoch: this.lastEpoch };
  }

  /** Continues a saved schedule: restores the epoch count and sets the optimizer's lr to match. */
  loadState(s: SchedulerState): void {
    if (!Number.isInteger(s.lastEpoch) || s.lastEpoch < 0) {
      throw new ConfigError(`${this.constructor.name}.loadState: lastEpoch must be a non-negative integer, got ${s.lastEpoch}`);
    }
    this.lastEpoch = s.lastEpoch;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
  }
}

/** Refuses a schedule setting that is not a positive integer, naming the schedule and the setting. */
function checkPositiveInt(schedule: string, name: string, v: number, hint?: string): void {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${schedule}: ${name} must be a positive integer, got ${v}`, hint);
}

/** Half a cosine from hi (t = 0) down to lo (t = T). */
function cosineBetween(hi: number, lo: number, t: number, T: number): number {
  return lo + ((hi - lo) * (1 + Math.cos((Math.PI * t) / T))) / 2;
}

function checkEtaMin(schedule: string, v: number): void {
  if (!(v >= 0)) throw new ConfigError(`${schedule}: etaMin must be >= 0, got ${v}`);
}

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/** Multiplies the lr by gamma every stepSize epochs: lr = base * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: StepLROptions) {
    super(optimizer);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    checkPositiveInt('StepLR', 'stepSize', this.stepSize);
    if (!(this.gamma > 0)) throw new ConfigError(`StepLR: gamma must be > 0, got ${this.gamma}`);
  }

  lrAt(epoch: number): number {
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

/**
 * Anneals the lr from base to etaMin over tMax epochs along half a cosine:
 * lr = etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2. Past tMax it rises again
 * (the cosine continues), as PyTorch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: CosineAnnealingLROptions) {
    super(optimizer);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    checkPositiveInt('CosineAnnealingLR', 'tMax', this.tMax, 'use the number of epochs');
    checkEtaMin('CosineAnnealingLR', this.etaMin);
  }

  lrAt(epoch: number): number {
    return cosineBetween(this.baseLr, this.etaMin, epoch, this.tMax);
  }
}

export interface CosineAnnealingWarmRestartsOptions {
  /** Steps in the first cycle. */
  t0: number;
  /** Each cycle is tMult times longer than the one before (an integer >= 1). */
  tMult?: number;
  etaMin?: number;
}

/**
 * SGDR, like torch.optim.lr_scheduler.CosineAnnealingWarmRestarts: half a cosine from base to
 * etaMin over each cycle, then back to base. A function of the step count alone, so it does not
 * depend on how long the run will be, and a resumed run continues it exactly.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: CosineAnnealingWarmRestartsOptions) {
    super(optimizer);
    this.t0 = opts.t0;
    this.tMult = opts.tMult ?? 1;
    this.etaMin = opts.etaMin ?? 0;
    checkPositiveInt('CosineAnnealingWarmRestarts', 't0', this.t0);
    checkPositiveInt('CosineAnnealingWarmRestarts', 'tMult', this.tMult);
    checkEtaMin('CosineAnnealingWarmRestarts', this.etaMin);
  }

  lrAt(step: number): number {
    // find the cycle holding `step` by walking the cycles: exact integers, no logarithms
    let tCur = step, tI = this.t0;
    while (tCur >= tI) {
      tCur -= tI;
      tI *= this.tMult;
    }
    return cosineBetween(this.baseLr, this.etaMin, tCur, tI);
  }
}
