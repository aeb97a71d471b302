// safetensors: the layout byte by byte, a bit-exact round trip, other float types, and untrusted
// headers (lying offsets, 10^12-byte claims, overlaps) refused in one line before any tensor is made.
import { describe, expect, it } from 'vitest';
import { InteropError } from '../../src/interop/errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.ts';

/** A file from a header object and raw data bytes, as any writer would lay it out. */
function fileOf(header: unknown, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

describe('safetensors', () => {
  it('lays out a hand-checked file: 8-byte LE length, JSON header padded to 8, LE float32 data in order', () => {
    const bytes = encodeSafetensors({ 'a.weight': { shape: [2], data: Float32Array.from([1, -2]) }, b: { shape: [1, 1], data: Float32Array.from([0.5]) } }, { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.trimEnd()).toBe('{"__metadata__":{"k":"v"},"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}');
    expect((8 + n) % 8).toBe(0);
    // 1.0 = 00 00 80 3f, -2.0 = 00 00 00 c0, 0.5 = 00 00 00 3f
    expect([...bytes.subarray(8 + n)]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f]);
  });

  it('round-trips float32 bit for bit, extremes included', () => {
    const special = [0, -0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Math.fround(Math.PI), Math.fround(1 / 3)];
    const rand = Float32Array.from({ length: 1000 }, (_, i) => Math.fround(Math.sin(i * 12.9898) * 43758.5453) * 1e-3);
    const tensors = { '0.weight': { shape: [3, 3], data: Float32Array.from(special) }, '0.bias': { shape: [10, 100], data: rand } };
    const back = decodeSafetensors(encodeSafetensors(tensors, { arch: 'x' }), 'm.safetensors');
    expect(Object.keys(back.tensors)).toEqual(['0.weight', '0.bias']);
    expect(back.metadata).toEqual({ arch: 'x' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(back.tensors[k].shape).toEqual(t.shape);
      expect(new Uint32Array(back.tensors[k].data.buffer)).toEqual(new Uint32Array(t.data.buffer));
    }
  });

  it('reads F16, BF16 and F64 as float32', () => {
    // F16 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24; BF16 0x3fc0 = 1.5; F64 0.1 rounds to float32's 0.1
    const data = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xc0, 0x3f, ...new Uint8Array(Float64Array.from([0.1]).buffer)]);
    const st = decodeSafetensors(fileOf({
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [6, 8] },
      d: { dtype: 'F64', shape: [], data_offsets: [8, 16] },
    }, data), 'x');
    expect([...st.tensors.h.data]).toEqual([1, -2, 2 ** -24]);
    expect([...st.tensors.b.data]).toEqual([1.5]);
    expect(st.tensors.d.data[0]).toBe(Math.fround(0.1));
    expect(st.dtypes).toEqual({ h: 'F16', b: 'BF16', d: 'F64' });
  });

  it('reads I64 (PyTorch keeps BatchNorm\'s num_batches_tracked so) as float32, up to 2^24 either way', () => {
    const st = decodeSafetensors(fileOf({ n: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, new Uint8Array(BigInt64Array.from([937n, -(2n ** 24n), 2n ** 24n]).buffer)), 'x');
    expect([...st.tensors.n.data]).toEqual([937, -(2 ** 24), 2 ** 24]);
    expect(st.dtypes).toEqual({ n: 'I64' });
  });

  const bad: [string, () => Uint8Array, RegExp][] = [
    ['a header that claims 10^12 bytes', () => fileOf({}, new Uint8Array(0), 10n ** 12n), /header claims 1,000,000,000,000 bytes, past the 100,000,000-byte limit/],
    ['a header longer than the file', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1)).subarray(0, 30), /the header claims \d+ bytes, but the file has only 22/],
    ['offsets past the end of the data (a truncated file)', () => fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1)), /tensor "a": data_offsets \[0, 8\] run past the end of the data \(4 bytes\)/],
    ['offsets that disagree with the shape', () => fileOf({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)), /tensor "a": data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/],
    ['overlapping tensors', () => fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)), /tensor "b": data_offsets begin at 4, expected 8 \(tensors overlap or leave a gap\)/],
    ['a gap before a tensor', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /tensor "a": data_offsets begin at 4, expected 0/],
    ['bytes after the last tensor', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)), /the tensors cover 4 bytes of data, but the file holds 8/],
    ['an integer dtype other than I64', () => fileOf({ a: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "a": dtype "I32" is not a type mnist-ts reads/],
    ['an I64 count float32 cannot hold exactly', () => fileOf({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, new Uint8Array(BigInt64Array.from([2n ** 24n + 1n]).buffer)), /tensor "n": I64 value 0 is 16777217, past what float32 holds exactly/],
    ['a negative size', () => fileOf({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /tensor "a": shape \[-1\] is not a list of at most 8 sizes/],
    ['a header that is a list', () => fileOf([1, 2], new Uint8Array(0)), /the header does not start with "\{"/],
    ['a header that is not JSON', () => { const b = fileOf({ a: 1 }, new Uint8Array(0)); b[12] = 0x7d; return b; }, /the header is not valid JSON/],
    ['metadata that is not strings', () => fileOf({ __metadata__: { n: 1 } }, new Uint8Array(0)), /__metadata__\.n is not a string/],
    ['too few bytes', () => new Uint8Array(5), /5 bytes is too short for a safetensors file/],
  ];
  for (const [name, make, pattern] of bad) {
    it(`refuses ${name}, in one line naming the file`, () => {
      let err: unknown;
      try {
        decodeSafetensors(make(), 'their.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InteropError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/^their\.safetensors: /);
      expect(msg).toMatch(pattern);
      expect(msg).not.toContain('\n');
    });
  }
});
