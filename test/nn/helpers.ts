// Shared by the layer tests: PyTorch oracle loading (test/fixtures, made by scripts/oracle/*.py;
// ../shared/oracle only as an optional extra), allclose with the case's tolerance, and
// central-difference gradient checks in float64.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import type { Module } from '../../src/nn/module.ts';

export interface T {
  shape: number[];
  data: number[];
}
export interface Tol {
  rtol: number;
  atol: number;
}
export interface OracleCase {
  name: string;
  op: string;
  config: Record<string, unknown>;
  input: T;
  target?: number[];
  params: Record<string, T>;
  output: T;
  grad_output: T;
  loss: number;
  grads: Record<string, T>;
  tolerance: Tol;
  values?: string;
}
export interface OracleDoc<C = OracleCase> {
  op: string;
  count: number;
  cases: C[];
}

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/**
 * The developers' shared oracle folder (../shared/oracle beside the repo root, or
 * $MNIST_TS_SHARED_ORACLE). Optional: tests that read it are skipped, visibly, when it is absent.
 */
export const SHARED_ORACLE_DIR = process.env.MNIST_TS_SHARED_ORACLE
  ? process.env.MNIST_TS_SHARED_ORACLE.replace(/\/?$/, '/')
  : fileURLToPath(new URL('../../../shared/oracle/', import.meta.url));

/** Whether the optional shared oracle holds `file` (for `it.skipIf(!hasSharedOracle(file))`). */
export function hasSharedOracle(file: string): boolean {
  return existsSync(SHARED_ORACLE_DIR + file);
}

/** Reads a JSON oracle document (gunzipped when the name ends in .gz) and checks it is whole. */
function readDoc<C>(path: string): OracleDoc<C> {
  if (!existsSync(path)) throw new Error(`oracle file ${path} is missing (regenerate it with scripts/oracle/*.py)`);
  const raw = readFileSync(path);
  const doc = JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as OracleDoc<C>;
  // file integrity, not a pinned count: the header's count must match the cases it carries
  if (!Array.isArray(doc.cases) || doc.cases.length === 0 || doc.cases.length !== doc.count) {
    throw new Error(`${path}: header says ${doc.count} cases, found ${doc.cases?.length}`);
  }
  return doc;
}

/** Cases of test/fixtures/<file>. Call it inside a test, so a bad file fails only that test. */
export function loadFixture<C = OracleCase>(file: string): C[] {
  return readDoc<C>(FIXTURE_DIR + file).cases;
}

/** Cases of the optional shared oracle's <file> (guard the test with hasSharedOracle). */
export function loadSharedOracle<C = OracleCase>(file: string): C[] {
  return readDoc<C>(SHARED_ORACLE_DIR + file).cases;
}

/** Runs `check` on every case, naming the case in the first failure (cases live in one test). */
export function forEachCase<C extends { name: string }>(cases: readonly C[], check: (c: C) => void): void {
  for (const c of cases) {
    try {
      check(c);
    } catch (e) {
      if (e instanceof Error && !e.message.includes(c.name)) e.message = `${c.name}: ${e.message}`;
      throw e;
    }
  }
}

export function tensorOf(t: T): Tensor {
  return Tensor.from(t.shape, t.data);
}

/** numpy allclose, element by element, with a message naming the first failing index. */
export function expectClose(actual: ArrayLike<number>, expected: T | ArrayLike<number>, tol: Tol, what: string, actualShape?: readonly number[]): void {
  const exp = 'data' in expected && 'shape' in expected ? (expected as T).data : (expected as ArrayLike<number>);
  if ('shape' in expected && actualShape && (expected as T).shape.join(',') !== actualShape.join(',')) {
    throw new Error(`${what}: shape [${actualShape.join(', ')}] != expected [${(expected as T).shape.join(', ')}]`);
  }
  if (actual.length !== exp.length) throw new Error(`${what}: length ${actual.length} != expected ${exp.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < exp.length; i++) {
    const a = actual[i], e = exp[i];
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}[${worst}]: got ${actual[worst]}, expected ${exp[worst]} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}

/** Uniform values in [lo, hi) from a seeded RNG. */
export function randomTensor(shape: readonly number[], rng: Rng, lo = -1, hi = 1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}

/** A shuffled grid of distinct values `gap` apart: no ties and no kinks under nudges < gap/2. */
export function distinctTensor(shape: readonly number[], rng: Rng, gap = 0.1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = (i - t.size / 2) * gap;
  rng.shuffle(t.data);
  return t;
}

/** Σ out·G in float64. */
export function dot(out: ArrayLike<number>, g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * g[i];
  return s;
}

/**
 * d loss / d v[i] by central differences, perturbing v (float32, in place, restored after);
 * the step actually taken is measured after float32 rounding.
 */
export function numericGrad(v: Float32Array, loss: () => number, eps: number): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const orig = v[i];
    v[i] = orig + eps;
    const hi = v[i];
    const lp = loss();
    v[i] = orig - eps;
    const lo = v[i];
    const lm = loss();
    v[i] = orig;
    g[i] = (lp - lm) / (hi - lo);
  }
  return g;
}

export interface GradCheckOptions {
  eps?: number;
  tol?: Tol;
  seed?: number;
}

/**
 * Checks a layer's backward (dinput and every parameter gradient) against central differences
 * of L = Σ forward(x)·G, G random. Returns the analytic gradients for further assertions.
 */
export function gradCheck(layer: Module, x: Tensor, opts: GradCheckOptions = {}): { dx: Float32Array; grads: Float32Array[] } {
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? { rtol: 1e-3, atol: 1e-3 };
  const rng = new Rng(opts.seed ?? 7);
  const outShape = layer.outputShape(x.shape);
  const G = randomTensor(outShape, rng);
  layer.zeroGrad();
  const y = layer.forward(x);
  if (y.shape.join(',') !== outShape.join(',')) throw new Error(`forward shape [${y.shape}] != outputShape [${outShape}]`);
  const dx = layer.backward(G).data.slice();
  const grads = layer.parameters().map((p) => p.grad.data.slice());
  const loss = () => dot(layer.forward(x).data, G.data);
  expectClose(dx, numericGrad(x.data, loss, eps), tol, `${layer.type} dinput`);
  layer.parameters().forEach((p, i) => {
    expectClose(grads[i], numericGrad(p.value.data, loss, eps), tol, `${layer.type} d${p.name}`);
  });
  return { dx, grads };
}

/** Sets a layer's parameters from an oracle case's `params` by name. */
export function setParams(layer: Module, params: Record<string, T>): void {
  const ps = layer.parameters();
  const names = Object.keys(params).sort();
  if (ps.map((p) => p.name).sort().join(',') !== names.join(',')) {
    throw new Error(`parameters [${ps.map((p) => p.name)}] do not match the case's [${names}]`);
  }
  for (const p of ps) {
    if (p.value.shape.join(',') !== params[p.name].shape.join(',')) {
      throw new Error(`${p.name}: shape [${p.value.shape}] != case [${params[p.name].shape}]`);
    }
    p.value.data.set(params[p.name].data);
  }
}

/**
 * Runs an oracle single-op case through a layer: forward vs `output`, backward with
 * `grad_output` vs every entry of `grads` (input and parameters).
 */
export function checkOracleCase(layer: Module, c: OracleCase): void {
  setParams(layer, c.params);
  layer.zeroGrad();
  const x = tensorOf(c.input);
  const y = layer.forward(x);
  expectClose(y.data, c.output, c.tolerance, `${c.name} output`, y.shape);
  expectClose([dot(y.data, c.grad_output.data)], [c.loss], c.tolerance, `${c.name} loss`);
  const dx = layer.backward(tensorOf(c.grad_output));
  const keys = Object.keys(c.grads);
  for (const k of keys) {
    if (k === 'input') {
      expectClose(dx.data, c.grads.input, c.tolerance, `${c.name} grad input`, dx.shape);
    } else {
      const p = layer.parameters().find((q) => q.name === k);
      if (!p) throw new Error(`${c.name}: layer has no parameter ${k}`);
      expectClose(p.grad.data, c.grads[k], c.tolerance, `${c.name} grad ${k}`, p.grad.shape);
    }
  }
  const expectedKeys = ['input', ...layer.parameters().map((p) => p.name)].sort().join(',');
  if (keys.sort().join(',') !== expectedKeys) throw new Error(`${c.name}: grads [${keys}] != layer's [${expectedKeys}]`);
}

/** One optimizer step of the network oracle: gradients at the parameters before it, parameters after. */
export interface NetworkStep {
  loss_before_step: number;
  grads: Record<string, T>;
  params_after_step: Record<string, T>;
}
/** The whole-network oracle case (test/fixtures/network.json.gz, made by scripts/oracle/gen_optim.py). */
export interface NetworkCase {
  name: string;
  architecture: Record<string, unknown>[];
  param_order: string[];
  input: T;
  target: number[];
  params_initial: Record<string, T>;
  activations: { conv_output: T; pool_output: T };
  logits: T;
  probs: T;
  loss: number;
  grads: Record<string, T>;
  sgd: { config: Record<string, number | boolean>; steps: NetworkStep[] };
  adam: { config: Record<string, unknown>; steps: NetworkStep[] };
  tolerance: Tol;
}

let network: NetworkCase | undefined;
/** The network oracle case, read on first use (inside a test) and kept for the rest of the file. */
export function loadNetworkFixture(): NetworkCase {
  network ??= loadFixture<NetworkCase>('network.json.gz')[0];
  return network;
}
