// The wasm backend's Winograd F(2x2, 3x3) convolution against the definition as float64 loops:
// with every buffer in the kernel memory and V kept (as a training layer runs it), with V made
// again in backward, and with operands outside the memory (staged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dColSize, conv2dForward, type Conv2dGeometry } from '../../../src/engine/conv2d.ts';
import { backend, setBackend } from '../../../src/engine/backend.ts';
import { Rng } from '../../../src/engine/rng.ts';
import { wasmRuntime } from '../../../src/engine/wasm/runtime.ts';
import { wasmWinogradApplies, wasmWinogradKeptSize } from '../../../src/engine/wasm/winograd.ts';
import { expectClose } from '../../nn/helpers.ts';
import { geometry3x3, naiveConv2d, rand, winogradCases } from '../conv-reference.ts';

function inMemory(a: Float32Array): Float32Array {
  const m = wasmRuntime().allocFloats(a.length)!;
  m.set(a);
  return m;
}

type Placement = 'kept in the kernel memory' | 'made again in backward' | 'staged from outside the memory';

function check(name: string, g: Conv2dGeometry, how: Placement, rng: Rng): void {
  const x = rand(g.n * g.cIn * g.h * g.w, rng);
  const w = rand(g.cOut * (g.cIn / g.groups) * 9, rng);
  const b = rand(g.cOut, rng);
  const dy = rand(g.n * g.cOut * g.outH * g.outW, rng);
  const ref = naiveConv2d(g, x, w, b, dy);
  const place = how === 'staged from outside the memory' ? (a: Float32Array) => a : inMemory;
  const keep = how === 'kept in the kernel memory';
  const xm = place(x), dym = place(dy);
  const y = place(new Float32Array(ref.y.length).fill(NaN)); // every output is written
  const col = place(new Float32Array(conv2dColSize(g, keep)));
  expect(conv2dForward(g, xm, w, b, y, col, keep)).toBe(keep);
  const tol = { rtol: 1e-4, atol: 2e-5 };
  expectClose(y, ref.y, tol, `${name} y`);
  const dw = new Float32Array(w.length).fill(0.5), db = new Float32Array(g.cOut).fill(0.5);
  const dx = place(new Float32Array(x.length).fill(NaN));
  conv2dBackward(g, xm, w, dym, dw, db, dx, col, keep, place(new Float32Array(conv2dColSize(g, false))));
  expectClose(dx, ref.dx, tol, `${name} dx`);
  // float32 sums over images x positions: the error grows like their square root
  const dwTol = { rtol: 1e-4, atol: 4e-6 * Math.sqrt(g.n * g.outH * g.outW) };
  expectClose(dw, ref.dw.map((v) => v + 0.5), dwTol, `${name} dw`);
  expectClose(db, ref.db.map((v) => v + 0.5), tol, `${name} db`);
}

describe('wasm Winograd F(2x2, 3x3) convolution', () => {
  const was = backend();
  beforeAll(() => setBackend('wasm'));
  afterAll(() => setBackend(was));
  const rng = new Rng(91);

  for (const [name, g] of winogradCases()) {
    it(`${name}: y, dx, dweight and dbias match direct loops`, () => {
      // the wasm path needs >= 8 channels on both sides; the rest run im2col + GEMM
      const wino = g.cIn / g.groups >= 8 && g.cOut / g.groups >= 8;
      expect(wasmWinogradApplies(g)).toBe(wino);
      if (wino) expect(conv2dColSize(g, true)).toBe(wasmWinogradKeptSize(g));
      check(name, g, 'kept in the kernel memory', rng);
    });
  }

  for (const how of ['made again in backward', 'staged from outside the memory'] as const) {
    it(`V ${how}: 11 images of the W-CNN conv2 shape, odd chunks`, () => {
      check(how, geometry3x3(11, 16, 32, 1, 14, 14, 1, 1), how, rng);
    });
  }

  it('10 output channels per group (not a multiple of four) and 13x11 planes', () => {
    check('10 outputs', geometry3x3(3, 16, 20, 2, 13, 11, 1, 1), 'kept in the kernel memory', rng);
  });

  it('gives the same bits on a second run', () => {
    const g = geometry3x3(7, 16, 32, 1, 14, 14, 1, 1);
    const x = inMemory(rand(g.n * g.cIn * g.h * g.w, rng)), w = rand(g.cOut * g.cIn * 9, rng);
    const dy = inMemory(rand(g.n * g.cOut * g.outH * g.outW, rng));
    const run = () => {
      const y = inMemory(new Float32Array(g.n * g.cOut * g.outH * g.outW));
      const col = inMemory(new Float32Array(conv2dColSize(g, true)));
      conv2dForward(g, x, w, null, y, col, true);
      const dw = new Float32Array(w.length), dx = inMemory(new Float32Array(x.length));
      conv2dBackward(g, x, w, dy, dw, null, dx, col, true, inMemory(new Float32Array(1)));
      return [y, dw, dx].map((a) => Array.from(new Uint32Array(a.slice().buffer)));
    };
    expect(run()).toEqual(run());
  });

  it('is not used for 5x5, stride 2, dilation 2 or fewer than 8 channels', () => {
    const base = geometry3x3(1, 16, 16, 1, 14, 14, 1, 1);
    expect(wasmWinogradApplies(base)).toBe(true);
    expect(wasmWinogradApplies({ ...base, kH: 5, kW: 5 })).toBe(false);
    expect(wasmWinogradApplies({ ...base, sH: 2, sW: 2, outH: 7, outW: 7 })).toBe(false);
    expect(wasmWinogradApplies({ ...base, dH: 2, dW: 2, outH: 12, outW: 12 })).toBe(false);
    expect(wasmWinogradApplies({ ...base, cIn: 4 })).toBe(false);
  });
});
