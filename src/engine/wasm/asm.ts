// A tiny WebAssembly assembler: enough of the binary format (types, an imported memory, functions,
// exports) and of the core and 128-bit SIMD instruction sets for the engine's kernels, written
// as expression helpers so a kernel reads like the loop it is. No toolchain: the bytes are built here.
//
// Every helper returns the bytes of one instruction with its operands' bytes in front, so
// `f32x4.add(get(acc), f32x4.mul(get(a), get(b)))` is the stack code for acc + a*b.

export type Code = number[];
export type ValType = number;

export const i32: ValType = 0x7f;
export const f32: ValType = 0x7d;
export const v128: ValType = 0x7b;

/** Unsigned LEB128. */
export function uleb(n: number): Code {
  const out: Code = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): Code {
  const out: Code = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function utf8(s: string): Code {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

const flat = (parts: (Code | number)[]): Code => parts.flatMap((p) => (typeof p === 'number' ? [p] : p));

// ---- locals and control ----

/** A local variable (parameters first, then declared locals). */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

export const get = (l: Local): Code => [0x20, ...uleb(l.index)];
export const set = (l: Local, value: Code): Code => [...value, 0x21, ...uleb(l.index)];
export const tee = (l: Local, value: Code): Code => [...value, 0x22, ...uleb(l.index)];

/** A block whose `br 0` jumps past its end. */
export const block = (...body: Code[]): Code => [0x02, 0x40, ...flat(body), 0x0b];
/** A loop whose `br 0` jumps back to its start. */
export const loop = (...body: Code[]): Code => [0x03, 0x40, ...flat(body), 0x0b];
export const if_ = (cond: Code, then: Code[], otherwise: Code[] = []): Code =>
  otherwise.length ? [...cond, 0x04, 0x40, ...flat(then), 0x05, ...flat(otherwise), 0x0b] : [...cond, 0x04, 0x40, ...flat(then), 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, cond: Code): Code => [...cond, 0x0d, ...uleb(depth)];
export const drop = (value: Code): Code => [...value, 0x1a];
export const select = (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b];

/**
 * for (i = start; i < end; i += step) body — skipped entirely when start >= end.
 * `end` is re-evaluated each iteration, so pass a local or a constant.
 */
export function forRange(i: Local, start: Code, end: Code, step: Code, ...body: Code[]): Code {
  return flat([
    set(i, start),
    block(brIf(0, I32.geS(get(i), end)), loop(...body, set(i, I32.add(get(i), step)), brIf(0, I32.ltS(get(i), end)))),
  ]);
}

/** do body while (cond) — for loops known to run at least once. */
export const doWhile = (cond: Code, ...body: Code[]): Code => loop(...body, brIf(0, cond));

// ---- i32 ----

const bin = (op: number) => (a: Code, b: Code): Code => [...a, ...b, op];
const un = (op: number) => (a: Code): Code => [...a, op];

export const I32 = {
  min: (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, 0x48, 0x1b],
  max: (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, 0x4a, 0x1b],
  const: (n: number): Code => [0x41, ...sleb(n)],
  eqz: un(0x45),
  eq: bin(0x46), ne: bin(0x47), ltS: bin(0x48), ltU: bin(0x49), gtS: bin(0x4a), leS: bin(0x4c), geS: bin(0x4e),
  add: bin(0x6a), sub: bin(0x6b), mul: bin(0x6c), divS: bin(0x6d), and: bin(0x71), or: bin(0x72), shl: bin(0x74), shrS: bin(0x75),
  /** Loads / stores take a byte address; `offset` is a constant byte offset added to it. */
  load: (addr: Code, offset = 0): Code => [...addr, 0x28, 2, ...uleb(offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [...addr, ...value, 0x36, 2, ...uleb(offset)],
};

// ---- f32 ----

export const F32 = {
  const: (x: number): Code => {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return [0x43, ...b];
  },
  load: (addr: Code, offset = 0): Code => [...addr, 0x2a, 2, ...uleb(offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [...addr, ...value, 0x38, 2, ...uleb(offset)],
  ne: bin(0x5c), gt: bin(0x5e),
  sqrt: un(0x91),
  add: bin(0x92), sub: bin(0x93), mul: bin(0x94), div: bin(0x95),
};

// ---- v128 / f32x4 / i32x4 (opcodes after the 0xfd prefix) ----

const simd = (op: number): Code => [0xfd, ...uleb(op)];
const sbin = (op: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(op)];
const sun = (op: number) => (a: Code): Code => [...a, ...simd(op)];

export const V128 = {
  load: (addr: Code, offset = 0): Code => [...addr, ...simd(0x00), 4, ...uleb(offset)],
  /** Loads one 32-bit value and repeats it in all four lanes. */
  load32Splat: (addr: Code, offset = 0): Code => [...addr, ...simd(0x09), 2, ...uleb(offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [...addr, ...value, ...simd(0x0b), 4, ...uleb(offset)],
  zero: (): Code => [...simd(0x0c), ...new Array<number>(16).fill(0)],
  /** A constant of four i32 lanes. */
  i32x4: (lanes: readonly [number, number, number, number]): Code => [...simd(0x0c), ...new Uint8Array(Int32Array.from(lanes).buffer)],
  /** Bytes of a (lanes 0–15) and b (16–31) picked by the 16 lane indices. */
  shuffle: (a: Code, b: Code, lanes: readonly number[]): Code => [...a, ...b, ...simd(0x0d), ...lanes],
  not: sun(0x4d), and: sbin(0x4e), andnot: sbin(0x4f), or: sbin(0x50),
  /** Lanes of a where mask bits are set, else of b. */
  bitselect: (a: Code, b: Code, mask: Code): Code => [...a, ...b, ...mask, ...simd(0x52)],
};

export const F32x4 = {
  splat: sun(0x13),
  extractLane: (v: Code, lane: number): Code => [...v, ...simd(0x1f), lane],
  eq: sbin(0x41), ne: sbin(0x42), lt: sbin(0x43), gt: sbin(0x44), le: sbin(0x45), ge: sbin(0x46),
  sqrt: sun(0xe3),
  add: sbin(0xe4), sub: sbin(0xe5), mul: sbin(0xe6), div: sbin(0xe7),
};

/** Byte address of float (or int32) element `i` of the array at byte address `base`. */
export const elementAt = (base: Local, i: Code): Code => I32.add(get(base), I32.shl(i, I32.const(2)));

/** The four lanes of v added up as one f32, (l0 + l1) + (l2 + l3); v is evaluated once per lane, so pass a local's get. */
export const sumLanes = (v: Code): Code =>
  F32.add(F32.add(F32x4.extractLane(v, 0), F32x4.extractLane(v, 1)), F32.add(F32x4.extractLane(v, 2), F32x4.extractLane(v, 3)));

export const I32x4 = {
  splat: sun(0x11),
  extractLane: (v: Code, lane: number): Code => [...v, ...simd(0x1b), lane],
  gtS: sbin(0x3b),
  shrS: (v: Code, bits: Code): Code => [...v, ...bits, ...simd(0xac)],
  add: sbin(0xae), sub: sbin(0xb1),
};

// ---- functions and modules ----

/** A function under construction: declare its params, then its locals, then give its body. */
export class Func {
  private readonly locals: ValType[] = [];
  readonly params: Local[];
  body: Code = [];

  constructor(readonly name: string, paramTypes: ValType[], readonly results: ValType[] = []) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  /** A new local of the given type. */
  local(type: ValType): Local {
    this.locals.push(type);
    return { index: this.params.length + this.locals.length - 1, type };
  }

  /** Several new locals of one type. */
  localsOf(type: ValType, n: number): Local[] {
    return Array.from({ length: n }, () => this.local(type));
  }

  encodeBody(): Code {
    // locals as (count, type) runs
    const runs: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const bytes = flat([uleb(runs.length), ...runs.map(([n, t]) => [...uleb(n), t]), this.body, 0x0b]);
    return [...uleb(bytes.length), ...bytes];
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Initial and maximum size in 64 KiB pages. */
  initial: number;
  maximum?: number;
  shared?: boolean;
}

function section(id: number, contents: Code): Code {
  return [id, ...uleb(contents.length), ...contents];
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...flat(items)];

/** The bytes of a module that imports one memory and exports every function by name. */
export function assemble(memory: MemoryImport, funcs: Func[]): Uint8Array<ArrayBuffer> {
  const sig = (f: Func) => [0x60, ...vec(f.params.map((p) => [p.type])), ...vec(f.results.map((r) => [r]))];
  const sigs: string[] = [];
  const typeOf = funcs.map((f) => {
    const key = sig(f).join(',');
    let i = sigs.indexOf(key);
    if (i < 0) i = sigs.push(key) - 1;
    return i;
  });
  const limits = memory.maximum === undefined
    ? [0x00, ...uleb(memory.initial)]
    : [memory.shared ? 0x03 : 0x01, ...uleb(memory.initial), ...uleb(memory.maximum)];
  const bytes = flat([
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec(sigs.map((s) => s.split(',').map(Number)))),
    section(2, vec([[...utf8(memory.module), ...utf8(memory.name), 0x02, ...limits]])),
    section(3, vec(typeOf.map((t) => uleb(t)))),
    section(7, vec(funcs.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]))),
    section(10, vec(funcs.map((f) => f.encodeBody()))),
  ]);
  return new Uint8Array(bytes);
}
