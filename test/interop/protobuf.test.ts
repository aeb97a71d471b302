// The protobuf writer against hand-encoded bytes (the wire format spec's own examples).
import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../../src/interop/protobuf.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ProtoWriter', () => {
  it('writes varints: field 1 = 150 is 08 96 01', () => {
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe('089601');
    expect(hex(new ProtoWriter().int(2, 0).int(3, 300).finish())).toBe('1000' + '18ac02');
  });

  it('writes a negative int64 as ten bytes of two\'s complement', () => {
    expect(hex(new ProtoWriter().int(3, -1).finish())).toBe('18' + 'ff'.repeat(9) + '01');
    expect(hex(new ProtoWriter().int(3, -2).finish())).toBe('18fe' + 'ff'.repeat(8) + '01');
  });

  it('writes strings, floats and nested messages length-delimited', () => {
    // field 2 = "testing": 12 07 74 65 73 74 69 6e 67
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    // field 2 as float 1.0: tag 0x15, then 00 00 80 3f
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe('150000803f');
    // field 3 = {field 1 = 150}: 1a 03 08 96 01
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish())).toBe('1a03089601');
  });

  it('refuses a non-integer where an integer goes', () => {
    expect(() => new ProtoWriter().int(1, 1.5)).toThrow(/not an integer/);
  });
});
