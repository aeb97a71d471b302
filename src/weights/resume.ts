// The weights file's `resume` field: everything beyond the weights that a run needs to continue
// exactly where it stopped (optimizer buffers, schedule position, RNG states, the position within
// an epoch). Pure: captured from and restored into live objects; docs/weights-format.md has the layout.
import { ConfigError } from '../engine/errors.ts';
import type { Rng, RngState } from '../engine/rng.ts';
import type { NamedParameter } from '../nn/sequential.ts';
import type { Optimizer, OptimizerState } from '../optim/optimizer.ts';
import { CheckpointError } from './errors.ts';
import { fail, get, int, join, num, obj, onlyKeys, safeKey, u32x4 } from './json-fields.ts';
import type { ParamShape } from './layer-check.ts';
import { RUN_LIMITS, readLimited } from './limits.ts';
import { checkTensor, tensorToJson, type TensorJson } from './tensor-json.ts';

/** Where an interrupted epoch stopped: its batches done and the running sums of its metrics. */
export interface EpochPosition {
  batchesDone: number;
  lossSum: number;
  correct: number;
  samples: number;
  seconds: number;
}

export interface ResumeState {
  /** Completed epochs. */
  epoch: number;
  /** The total the run was asked for; a bare `--resume` continues up to it. */
  epochs: number;
  /** Batches per epoch of the run (a changed dataset or batch size would not line up). */
  batches: number;
  /** Set when the run stopped inside epoch `epoch + 1`. */
  position?: EpochPosition;
  /** Optimizer type (SGD, Adam, AdamW), step count, and buffers by name then state_dict key. */
  optimizer: { type: string; step: number; buffers: Record<string, Record<string, TensorJson>> };
  /** Scheduler steps taken (one per completed epoch); absent without a scheduler. */
  scheduler?: { lastEpoch: number };
  /**
   * `init`: the global RNG (weight init, dropout masks) at the moment of the checkpoint;
   * `shuffle`: the shuffling RNG at the start of epoch `epoch + 1` (before its shuffle).
   */
  rng: { init: RngState; shuffle: RngState };
}

const MAX_BATCHES = 2 ** 31 - 1;

export interface CaptureOptions {
  epoch: number;
  epochs: number;
  batches: number;
  position?: EpochPosition;
  optimizer: Optimizer;
  /** The optimizer's parameters with their state_dict keys, in the optimizer's order. */
  params: readonly NamedParameter[];
  scheduler?: { lastEpoch: number };
  initRng: Rng;
  shuffleState: RngState;
}

const u32 = (s: readonly number[]): RngState => s.map((v) => v >>> 0) as RngState;

/** Snapshots the live training state (copies: later steps do not change it). */
export function captureResume(o: CaptureOptions): ResumeState {
  const st = o.optimizer.state();
  const buffers: Record<string, Record<string, TensorJson>> = {};
  for (const [name, bufs] of Object.entries(st.buffers)) {
    const byKey: Record<string, TensorJson> = {};
    o.params.forEach((p, i) => (byKey[p.key] = tensorToJson({ shape: p.value.shape, data: bufs[i] })));
    buffers[name] = byKey;
  }
  const r: ResumeState = {
    epoch: o.epoch,
    epochs: o.epochs,
    batches: o.batches,
    optimizer: { type: st.type, step: st.step, buffers },
    // NOTE: sfc32 keeps some words as signed int32; the file stores them as unsigned
    rng: { init: u32(o.initRng.getState()), shuffle: u32(o.shuffleState) },
  };
  if (o.position) r.position = { ...o.position };
  if (o.scheduler) r.scheduler = { lastEpoch: o.scheduler.lastEpoch };
  return r;
}

/** Loads the saved buffers and step count into a freshly built optimizer of the same kind. */
export function restoreOptimizer(opt: Optimizer, r: ResumeState, params: readonly NamedParameter[]): void {
  const buffers: Record<string, Float32Array[]> = {};
  for (const [name, byKey] of Object.entries(r.optimizer.buffers)) {
    buffers[name] = params.map((p) => Float32Array.from(byKey[p.key].data));
  }
  const state: OptimizerState = { type: r.optimizer.type, step: r.optimizer.step, buffers };
  try {
    opt.loadState(state);
  } catch (err) {
    if (err instanceof ConfigError) throw new CheckpointError(`resume.optimizer: ${err.message}`, err.hint);
    throw err;
  }
}

/** Validates an untrusted `resume` field against the model's parameter shapes; returns fresh objects. */
export function validateResume(v: unknown, path: string, params: readonly ParamShape[]): ResumeState {
  const o = obj(v, path);
  onlyKeys(o, path, ['epoch', 'epochs', 'batches', 'position', 'optimizer', 'scheduler', 'rng']);
  const epoch = int(get(o, 'epoch'), `${path}.epoch`, 0, RUN_LIMITS.epochs.max);
  const epochs = readLimited(get(o, 'epochs'), `${path}.epochs`, RUN_LIMITS.epochs);
  const batches = int(get(o, 'batches'), `${path}.batches`, 1, MAX_BATCHES);
  const r: ResumeState = { epoch, epochs, batches, optimizer: { type: '', step: 0, buffers: {} }, rng: { init: [0, 0, 0, 0], shuffle: [0, 0, 0, 0] } };

  const pv = get(o, 'position');
  if (pv !== undefined) {
    const p = `${path}.position`;
    const po = obj(pv, p);
    onlyKeys(po, p, ['batchesDone', 'lossSum', 'correct', 'samples', 'seconds']);
    const batchesDone = int(get(po, 'batchesDone'), `${p}.batchesDone`, 1, batches);
    const samples = int(get(po, 'samples'), `${p}.samples`, 1, Number.MAX_SAFE_INTEGER);
    r.position = {
      batchesDone,
      lossSum: num(get(po, 'lossSum'), `${p}.lossSum`, 0, Number.MAX_VALUE, 'a finite number >= 0'),
      correct: int(get(po, 'correct'), `${p}.correct`, 0, samples),
      samples,
      seconds: num(get(po, 'seconds'), `${p}.seconds`, 0, Number.MAX_VALUE, 'a finite number >= 0'),
    };
  }

  const op = `${path}.optimizer`;
  const oo = obj(get(o, 'optimizer'), op);
  onlyKeys(oo, op, ['type', 'step', 'buffers']);
  const type = get(oo, 'type');
  if (type !== 'SGD' && type !== 'Adam' && type !== 'AdamW') fail(`${op}.type`, 'one of SGD, Adam, AdamW', type);
  r.optimizer.type = type;
  r.optimizer.step = int(get(oo, 'step'), `${op}.step`, 0, Number.MAX_SAFE_INTEGER);
  const bp = `${op}.buffers`;
  const bo = obj(get(oo, 'buffers'), bp);
  const names = Object.keys(bo);
  if (names.length > 4) fail(bp, 'at most 4 buffers', `${names.length} buffers`);
  for (const name of names) {
    const np = safeKey(name, bp);
    if (!/^[a-z][a-z_]{0,31}$/.test(name)) throw new CheckpointError(`${np}: not a buffer name`);
    const byKey = obj(bo[name], np);
    const out: Record<string, TensorJson> = {};
    for (const k of Object.keys(byKey)) {
      if (!params.some((q) => q.key === k)) throw new CheckpointError(`${join(np, k)}: no such parameter in the model`);
    }
    for (const q of params) {
      if (!Object.hasOwn(byKey, q.key)) throw new CheckpointError(`${join(np, q.key)}: missing`);
      out[q.key] = checkTensor(byKey[q.key], join(np, q.key), q.shape);
    }
    r.optimizer.buffers[name] = out;
  }

  const sv = get(o, 'scheduler');
  if (sv !== undefined) {
    const sp = `${path}.scheduler`;
    const so = obj(sv, sp);
    onlyKeys(so, sp, ['lastEpoch']);
    const lastEpoch = int(get(so, 'lastEpoch'), `${sp}.lastEpoch`, 0, Number.MAX_SAFE_INTEGER);
    const perBatch = batchesTrained(r);
    if (lastEpoch !== epoch && lastEpoch !== perBatch) {
      const perEpoch = `${epoch} (one step per completed epoch)`;
      fail(`${sp}.lastEpoch`, perBatch === epoch ? perEpoch : `${perEpoch} or ${perBatch} (one per batch trained)`, lastEpoch);
    }
    r.scheduler = { lastEpoch };
  }

  const rp = `${path}.rng`;
  const ro = obj(get(o, 'rng'), rp);
  onlyKeys(ro, rp, ['init', 'shuffle']);
  r.rng = { init: u32x4(get(ro, 'init'), `${rp}.init`), shuffle: u32x4(get(ro, 'shuffle'), `${rp}.shuffle`) };
  return r;
}

/** Optimisation steps a resume state has taken: what a schedule stepped per batch has counted. */
export function batchesTrained(r: Pick<ResumeState, 'epoch' | 'batches' | 'position'>): number {
  return r.epoch * r.batches + (r.position?.batchesDone ?? 0);
}
