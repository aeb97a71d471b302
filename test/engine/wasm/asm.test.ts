import { describe, expect, it } from 'vitest';
import { F32, F32x4, Func, I32, V128, assemble, f32, forRange, get, i32, set, sleb, uleb } from '../../../src/engine/wasm/asm.ts';
import { kernelFuncs, simdSupported } from '../../../src/engine/wasm/runtime.ts';

const mem = { module: 'env', name: 'memory', initial: 1 };

function instantiate(funcs: Func[]) {
  const bytes = assemble(mem, funcs);
  expect(WebAssembly.validate(bytes)).toBe(true);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { memory, exports: inst.exports as Record<string, (...a: number[]) => number> };
}

describe('wasm assembler', () => {
  it('encodes LEB128 as the spec examples do', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('builds a module the runtime validates and runs: a loop summing 1..n', () => {
    const f = new Func('sum', [i32], [i32]);
    const [n] = f.params;
    const [i, s] = f.localsOf(i32, 2);
    f.body = [...forRange(i, I32.const(1), I32.add(get(n), I32.const(1)), I32.const(1), set(s, I32.add(get(s), get(i)))), ...get(s)];
    const { exports } = instantiate([f]);
    expect(exports.sum(10)).toBe(55);
    expect(exports.sum(0)).toBe(0);
    expect(exports.sum(1000)).toBe(500500);
  });

  it('runs f32 and f32x4 arithmetic on memory', () => {
    const f = new Func('axpy4', [i32, f32]); // mem[0..3] = a * mem[0..3] + mem[4..7]
    const [p, a] = f.params;
    f.body = V128.store(get(p), F32x4.add(F32x4.mul(F32x4.splat(get(a)), V128.load(get(p))), V128.load(get(p), 16)));
    const g = new Func('half', [f32], [f32]);
    g.body = F32.mul(get(g.params[0]), F32.const(0.5));
    const { memory, exports } = instantiate([f, g]);
    const m = new Float32Array(memory.buffer);
    m.set([1, 2, 3, 4, 10, 20, 30, 40]);
    exports.axpy4(0, 3);
    expect(Array.from(m.subarray(0, 4))).toEqual([13, 26, 39, 52]);
    expect(exports.half(5)).toBe(2.5);
  });

  it('every kernel function validates, alone and as the whole kernel module', () => {
    expect(simdSupported()).toBe(true);
    const funcs = kernelFuncs();
    expect(funcs.length).toBeGreaterThan(3);
    for (const f of kernelFuncs()) expect(WebAssembly.validate(assemble(mem, [f])), f.name).toBe(true);
    expect(WebAssembly.validate(assemble({ ...mem, maximum: 100, shared: true }, funcs))).toBe(true);
  });

  it('an invalid body (a type error) fails validation', () => {
    const f = new Func('bad', [i32], [i32]);
    f.body = F32.add(get(f.params[0]), F32.const(1)); // f32.add on an i32
    expect(WebAssembly.validate(assemble(mem, [f]))).toBe(false);
  });
});
