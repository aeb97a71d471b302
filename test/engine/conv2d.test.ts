import { describe, expect, it } from 'vitest';
import {
  col2im, conv2dBackward, conv2dColSize, conv2dForward, convOutSize, im2col, isPointwise, type Conv2dGeometry,
} from '../../src/engine/conv2d.ts';
import { Rng } from '../../src/engine/rng.ts';
import { expectClose } from '../nn/helpers.ts';
import { naiveConv2d, rand } from './conv-reference.ts';



function randomGeometry(rng: Rng): Conv2dGeometry {
  const groups = 1 + rng.int(3);
  const cIn = groups * (1 + rng.int(3)), cOut = groups * (1 + rng.int(3));
  const kH = 1 + rng.int(4), kW = 1 + rng.int(4);
  const dH = 1 + rng.int(2), dW = 1 + rng.int(3);
  const sH = 1 + rng.int(3), sW = 1 + rng.int(3);
  const padTop = rng.int(3), padLeft = rng.int(3);
  // asymmetric bottom / right padding, as 'same' produces for even kernels
  const padBottom = padTop + rng.int(2), padRight = padLeft + rng.int(2);
  const h = Math.max(1, dH * (kH - 1) + 1 - padTop - padBottom) + rng.int(6);
  const w = Math.max(1, dW * (kW - 1) + 1 - padLeft - padRight) + rng.int(6);
  return {
    n: 1 + rng.int(3), cIn, h, w, cOut, groups, kH, kW, sH, sW, dH, dW, padTop, padLeft,
    outH: convOutSize(h, kH, sH, padTop, padBottom, dH), outW: convOutSize(w, kW, sW, padLeft, padRight, dW),
  };
}

const tol = { rtol: 1e-5, atol: 1e-5 };

describe('conv2d kernels against direct loops', () => {
  const rng = new Rng(2024);
  for (let t = 0; t < 60; t++) {
    const g = randomGeometry(rng);
    const label = `#${t} n${g.n} ${g.cIn}->${g.cOut} g${g.groups} ${g.h}x${g.w} k${g.kH}x${g.kW} s${g.sH}x${g.sW} d${g.dH}x${g.dW} p${g.padTop},${g.padLeft} out${g.outH}x${g.outW}`;
    it(label, () => {
      expect(g.outH).toBeGreaterThan(0);
      expect(g.outW).toBeGreaterThan(0);
      const x = rand(g.n * g.cIn * g.h * g.w, rng);
      const w = rand(g.cOut * (g.cIn / g.groups) * g.kH * g.kW, rng);
      const b = t % 2 ? rand(g.cOut, rng) : null;
      const dy = rand(g.n * g.cOut * g.outH * g.outW, rng);
      const ref = naiveConv2d(g, x, w, b, dy);
      for (const keep of [true, false]) {
        const y = new Float32Array(ref.y.length).fill(NaN); // forward must overwrite
        const col = new Float32Array(conv2dColSize(g, keep)).fill(NaN);
        const kept = conv2dForward(g, x, w, b, y, col, keep); // whether the columns were kept for backward
        expectClose(y, ref.y, tol, `${label} y (keepCols ${keep})`);
        const dw = new Float32Array(w.length).fill(0.5); // accumulates onto what is there
        const db = b ? new Float32Array(g.cOut).fill(0.5) : null;
        const dx = new Float32Array(x.length).fill(NaN); // overwritten
        const dcol = new Float32Array(conv2dColSize(g, false));
        conv2dBackward(g, x, w, dy, dw, db, dx, col, kept, dcol);
        expectClose(dx, ref.dx, tol, `${label} dx`);
        expectClose(dw, ref.dw.map((v) => v + 0.5), tol, `${label} dw`);
        if (db) expectClose(db, ref.db.map((v) => v + 0.5), tol, `${label} db`);
      }
    });
  }

  it('takes the pointwise path (no im2col) for 1x1 stride-1 unpadded kernels', () => {
    const g: Conv2dGeometry = { n: 2, cIn: 4, h: 3, w: 5, cOut: 6, groups: 2, kH: 1, kW: 1, sH: 1, sW: 1, dH: 3, dW: 1, padTop: 0, padLeft: 0, outH: 3, outW: 5 };
    expect(isPointwise(g)).toBe(true);
    expect(conv2dColSize(g, true)).toBe(0);
    expect(isPointwise({ ...g, sH: 2, outH: 2 })).toBe(false);
  });
});

describe('im2col / col2im', () => {
  it('lays out rows (c, i, j) and columns (oy, ox), zero outside the input', () => {
    // 1 channel 2x2 input, 2x2 kernel, padding 1: 3x3 output
    const g: Conv2dGeometry = { n: 1, cIn: 1, h: 2, w: 2, cOut: 1, groups: 1, kH: 2, kW: 2, sH: 1, sW: 1, dH: 1, dW: 1, padTop: 1, padLeft: 1, outH: 3, outW: 3 };
    const col = new Float32Array(4 * 9).fill(NaN);
    im2col(Float32Array.from([1, 2, 3, 4]), 0, 1, g, col, 0);
    expect([...col]).toEqual([
      0, 0, 0, 0, 1, 2, 0, 3, 4, // tap (0,0) reads x[oy-1, ox-1]
      0, 0, 0, 1, 2, 0, 3, 4, 0, // tap (0,1)
      0, 1, 2, 0, 3, 4, 0, 0, 0, // tap (1,0)
      1, 2, 0, 3, 4, 0, 0, 0, 0, // tap (1,1)
    ]);
  });

  it('col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 20; t++) {
      const g = { ...randomGeometry(rng), groups: 1 };
      const cg = g.cIn;
      const x = rand(cg * g.h * g.w, rng);
      const c = rand(cg * g.kH * g.kW * g.outH * g.outW, rng);
      const col = new Float32Array(c.length);
      im2col(x, 0, cg, g, col, 0);
      const back = new Float32Array(x.length);
      col2im(c, 0, cg, g, back, 0);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < c.length; i++) lhs += col[i] * c[i];
      for (let i = 0; i < x.length; i++) rhs += x[i] * back[i];
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
    }
  });
});

describe('convOutSize', () => {
  it('follows floor((H + padLo + padHi - d(k-1) - 1) / s) + 1', () => {
    expect(convOutSize(28, 3, 1, 1, 1, 1)).toBe(28);
    expect(convOutSize(10, 3, 3, 2, 2, 1)).toBe(4);
    expect(convOutSize(9, 3, 1, 2, 2, 2)).toBe(9);
    expect(convOutSize(8, 3, 2, 0, 0, 1)).toBe(3);
    expect(convOutSize(5, 2, 1, 0, 1, 1)).toBe(5); // 'same', even kernel
    expect(convOutSize(3, 5, 1, 0, 0, 1)).toBeLessThan(1);
  });
});
