// The kernel memory's allocator when several threads' runtimes share one memory (as the worker
// threads of ParallelStepper do): blocks never overlap, writes and growth are seen by every runtime.
import { describe, expect, it } from 'vitest';
import { wasmAddInto } from '../../../src/engine/wasm/elementwise.ts';
import { WasmRuntime, adoptKernelMemory, shareableKernelMemory, wasmRuntime } from '../../../src/engine/wasm/runtime.ts';

describe('WasmRuntime on a shared memory', () => {
  it('two runtimes on one memory hand out disjoint blocks and see each other\'s writes', () => {
    const main = new WasmRuntime();
    expect(main.shared).toBe(true);
    const other = new WasmRuntime(main.memory);
    const blocks: [number, number][] = [];
    for (let i = 0; i < 20; i++) {
      const rt = i % 2 ? other : main;
      const a = rt.allocFloats(100 + 37 * i)!;
      blocks.push([a.byteOffset, a.byteOffset + a.byteLength]);
      a.fill(i + 1);
    }
    blocks.sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i][0]).toBeGreaterThanOrEqual(blocks[i - 1][1]);
    expect(blocks[0][0]).toBeGreaterThanOrEqual(1024); // address 0 (and the allocator's header) never handed out
    const a = main.allocFloats(8)!;
    a.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const seen = other.floatsAt(a.byteOffset, 8);
    expect(Array.from(seen)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(other.holds(seen)).toBe(true);
  });

  it('a block beyond the memory one runtime grew is usable in place by the other', () => {
    const main = new WasmRuntime();
    const other = new WasmRuntime(main.memory);
    const before = main.memory.buffer.byteLength;
    const big = other.allocFloats(before / 2)!; // needs the memory to grow (by the other runtime)
    expect(main.memory.buffer.byteLength).toBeGreaterThan(before);
    big[big.length - 1] = 42;
    const view = main.floatsAt(big.byteOffset, big.length);
    expect(view[view.length - 1]).toBe(42);
    expect(main.holds(view)).toBe(true);
    // a kernel of the main runtime writes it in place: relu of -1 is 0
    view[0] = -1;
    main.k.relu(view.byteOffset, view.byteOffset, 4);
    expect(big[0]).toBe(0);
  });

  it('addInto sums in float32, four lanes at a time and the tail one by one, and refuses buffers outside the memory', () => {
    const rt = wasmRuntime();
    const n = 11; // two vectors and a tail of 3
    const dst = rt.allocFloats(n)!, src = rt.allocFloats(n)!;
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      dst[i] = 1 + i / 3; // not exact in float32: the sum must round as float32 addition does
      src[i] = 1e-7 * (i + 1) - i;
      want.push(Math.fround(dst[i] + src[i]));
    }
    expect(wasmAddInto(dst, src)).toBe(true);
    expect(Array.from(dst)).toEqual(want);
    expect(wasmAddInto(new Float32Array(n), src)).toBe(false);
  });

  it('adoptKernelMemory refuses a thread that already has a memory of its own', () => {
    const mem = shareableKernelMemory()!;
    expect(mem).toBe(wasmRuntime().memory);
    expect(() => adoptKernelMemory(mem)).not.toThrow(); // the same memory: nothing to do
    expect(() => adoptKernelMemory(new WasmRuntime().memory)).toThrow(/already has its own kernel memory/);
  });
});
