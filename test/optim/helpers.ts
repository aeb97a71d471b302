// Shared by the optimizer tests: fixture loading, parameters from fixture tensors, allclose.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { Tensor } from '../../src/engine/tensor.ts';
import { param, type Parameter } from '../../src/nn/module.ts';
import { Adam, AdamW } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';

import type { T, Tol } from '../nn/helpers.ts';

export type { T, Tol };
export interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  config: Record<string, unknown>;
  param_order: string[];
  params_initial: Record<string, T>;
  steps: { grads: Record<string, T>; params_after_step: Record<string, T> }[];
  tolerance: Tol;
}

/** Reads a JSON file by a path relative to the repo root (where vitest runs). */
export function loadJson<D>(path: string): D {
  return JSON.parse(readFileSync(resolve(process.cwd(), path), 'utf8')) as D;
}

export function makeParams(order: readonly string[], init: Record<string, T>): Parameter[] {
  return order.map((k) => param(k, Tensor.from(init[k].shape, init[k].data)));
}

/** Builds the optimizer a fixture case names, translating PyTorch argument names. */
export function makeOptimizer(kind: string, cfg: Record<string, unknown>, params: Parameter[]): Optimizer {
  if (kind === 'SGD') {
    return new SGD(params, {
      lr: cfg.lr as number,
      momentum: cfg.momentum as number,
      dampening: cfg.dampening as number,
      nesterov: cfg.nesterov as boolean,
      weightDecay: cfg.weight_decay as number,
    });
  }
  const opts = {
    lr: cfg.lr as number,
    betas: cfg.betas as [number, number],
    eps: cfg.eps as number,
    weightDecay: cfg.weight_decay as number,
    amsgrad: cfg.amsgrad as boolean,
  };
  if (kind === 'Adam') return new Adam(params, opts);
  if (kind === 'AdamW') return new AdamW(params, opts);
  throw new Error(`unknown optimizer ${kind}`);
}

export function setGrads(params: readonly Parameter[], grads: Record<string, T>): void {
  for (const p of params) p.grad.data.set(grads[p.name].data);
}

/** numpy allclose, element by element, naming the first failure. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) {
      expect.fail(`${what}[${i}]: got ${a}, expected ${e} (rtol ${tol.rtol}, atol ${tol.atol})`);
    }
  }
}

/** Runs every step of a fixture case and compares the parameters after each one. */
export function runCase(c: OptimCase): void {
  const params = makeParams(c.param_order, c.params_initial);
  const opt = makeOptimizer(c.optimizer, c.config, params);
  c.steps.forEach((s, i) => {
    opt.zeroGrad();
    setGrads(params, s.grads);
    opt.step();
    for (const p of params) expectClose(p.value.data, s.params_after_step[p.name].data, c.tolerance, `${c.name} step ${i + 1} ${p.name}`);
  });
}

/**
 * Runs `total` steps with a fixed gradient sequence, either straight through or by saving state
 * after `cut` steps (through JSON, as a checkpoint would) and continuing in a fresh optimizer
 * (`load` false: without loading the state, to show that the state matters).
 */
export function runWithResume(make: (ps: Parameter[]) => Optimizer, total: number, cut?: number, load = true): Float32Array[] {
  const init = [Float32Array.from([0.5, -1.25, 2, 0]), Float32Array.from([0.75, -0.125])];
  const gradAt = (step: number, j: number, i: number) => Math.sin(1 + step * 3.1 + j * 1.7 + i) * (step % 2 ? 2 : 0.5);
  let params = init.map((d, j) => param(`p${j}`, Tensor.from([d.length], d)));
  let opt = make(params);
  for (let t = 0; t < total; t++) {
    if (t === cut) {
      const saved = JSON.stringify({ ...opt.state(), buffers: Object.fromEntries(Object.entries(opt.state().buffers).map(([k, v]) => [k, v.map((b) => Array.from(b))])) });
      const values = params.map((p) => p.value.data.slice());
      params = values.map((d, j) => param(`p${j}`, Tensor.from([d.length], d)));
      opt = make(params);
      const s = JSON.parse(saved);
      if (load) opt.loadState({ ...s, buffers: Object.fromEntries(Object.entries(s.buffers as Record<string, number[][]>).map(([k, v]) => [k, v.map((b) => Float32Array.from(b))])) });
    }
    opt.zeroGrad();
    params.forEach((p, j) => p.grad.data.forEach((_, i) => (p.grad.data[i] = gradAt(t, j, i))));
    opt.step();
  }
  return params.map((p) => p.value.data.slice());
}

/**
 * The torch.optim cases of test/fixtures/optim.json (made by scripts/oracle/gen_optim.py) for one
 * kind of optimizer. Call it inside a test, so a missing or broken file fails only that test.
 */
export function optimCases(keep: (c: OptimCase) => boolean): OptimCase[] {
  const cases = loadJson<{ cases: OptimCase[] }>('test/fixtures/optim.json').cases.filter(keep);
  if (cases.length === 0) throw new Error('test/fixtures/optim.json holds no case of this optimizer');
  return cases;
}

/** Runs every case, naming the failing one. */
export function runCases(cases: readonly OptimCase[]): void {
  for (const c of cases) runCase(c); // runCase names the case in every message
}

/** Hand-worked values are exact reals; this allows float32 rounding of the result. */
export const exact = { rtol: 2e-7, atol: 1e-7 };

/** One parameter with the given values and gradient. */
export function oneParam(values: number[], grads: number[]): Parameter {
  const p = param('w', Tensor.from([values.length], values));
  p.grad.data.set(grads);
  return p;
}
