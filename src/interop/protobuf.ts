// A minimal protocol-buffers writer, enough for ONNX: varints (int64 as two's complement, ten
// bytes when negative), fixed32 floats and length-delimited fields (bytes, strings, sub-messages).
// Messages are built inside out: a sub-message is encoded first, then embedded as bytes.

const utf8 = new TextEncoder();

/** Bytes of one message under construction; fields are appended in the order written. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: bigint): void {
    // negative int64s are written as their 64-bit two's complement: always ten bytes
    let u = BigInt.asUintN(64, v);
    const out: number[] = [];
    while (u >= 0x80n) {
      out.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    out.push(Number(u));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: 0 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** An int32/int64/enum/bool field (wire type 0). */
  int(field: number, v: number | bigint): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`protobuf: ${v} is not an integer`);
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  /** A float field (wire type 5, little-endian IEEE 754 single). */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** A bytes or embedded-message field (wire type 2). */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
