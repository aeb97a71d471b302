// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
// tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" of strings), then
// the raw little-endian data. Writing is float32; reading checks every offset before trusting it.
import { InteropError } from './errors.ts';

/** The reference implementation refuses larger headers; a header is a few kilobytes here. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Tensors in one file: far past any model mnist-ts builds (256 layers, two tensors each). */
export const MAX_TENSORS = 4096;

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

// I64 for the counts PyTorch keeps as int64 (BatchNorm's num_batches_tracked); read when exact in float32
const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 };

/**
 * Encodes float32 tensors in the given order with `metadata` as "__metadata__". The header is
 * padded with spaces to a multiple of 8 bytes, as the reference writer does, so data is aligned.
 */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new InteropError(`${name}: shape [${t.shape.join(', ')}] holds ${n} values, the data ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, o += 4) view.setFloat32(o, t.data[i], true);
  }
  return out;
}

export interface SafetensorsFile {
  /**
   * Tensors in the order of their data, converted to float32 (F16, BF16 and F64 are widened or
   * rounded; I64 values must be exact in float32, |v| <= 2^24).
   */
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
  /** Each tensor's stored dtype. */
  dtypes: Record<string, string>;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses an untrusted safetensors file: the header length against the file size and
 * MAX_HEADER_BYTES, the header as a JSON object of well-formed entries, and the data offsets
 * (each tensor exactly its shape's bytes, together covering the data without gap or overlap).
 * `label` names the file in messages.
 */
export function decodeSafetensors(bytes: Uint8Array, label: string): SafetensorsFile {
  const bad = (problem: string, hint = 'is it a safetensors file, and complete?'): never => {
    throw new InteropError(`${label}: ${problem}`, hint);
  };
  if (bytes.length < 10) bad(`${bytes.length} bytes is too short for a safetensors file (8-byte header length, then a JSON header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) bad(`the header claims ${n.toLocaleString('en-US')} bytes, past the ${MAX_HEADER_BYTES.toLocaleString('en-US')}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) bad(`the header claims ${headerLen.toLocaleString('en-US')} bytes, but the file has only ${(bytes.length - 8).toLocaleString('en-US')} after the length`);
  if (bytes[8] !== 0x7b) bad('the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    bad(`the header is not valid JSON (${(err as Error).message.slice(0, 100)})`);
  }
  if (!isObj(header)) return bad('the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  const metadata: Record<string, string> = Object.create(null);
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!isObj(meta)) bad('__metadata__ is not an object of strings');
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') bad(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (names.length > MAX_TENSORS) bad(`${names.length} tensors, past the limit of ${MAX_TENSORS}`);
  const entries = names.map((name) => {
    const e = header[name];
    const where = `tensor ${JSON.stringify(name.slice(0, 80))}`;
    if (!isObj(e)) return bad(`${where}: expected {dtype, shape, data_offsets}`);
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      return bad(`${where}: dtype ${JSON.stringify(dtype)} is not a type mnist-ts reads (F32, F16, BF16, F64; I64 for counts)`, 'save the model in float32');
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return bad(`${where}: shape ${JSON.stringify(shape)?.slice(0, 80)} is not a list of at most 8 sizes`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      return bad(`${where}: data_offsets ${JSON.stringify(off)?.slice(0, 80)} is not [begin, end]`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== count * BYTES[dtype]) {
      bad(`${where}: data_offsets [${off.join(', ')}] hold ${off[1] - off[0]} bytes, but ${dtype} [${shape.join(', ')}] needs ${count * BYTES[dtype]}`);
    }
    if (off[1] > dataLen) bad(`${where}: data_offsets [${off.join(', ')}] run past the end of the data (${dataLen.toLocaleString('en-US')} bytes)`);
    return { name, dtype, shape: shape as number[], begin: off[0] as number, end: off[1] as number, count };
  });
  // as the reference reader: the tensors tile the data exactly, no gaps, no overlaps, nothing after
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) bad(`tensor ${JSON.stringify(e.name.slice(0, 80))}: data_offsets begin at ${e.begin}, expected ${at} (tensors overlap or leave a gap)`);
    at = e.end;
  }
  if (at !== dataLen) bad(`the tensors cover ${at.toLocaleString('en-US')} bytes of data, but the file holds ${dataLen.toLocaleString('en-US')}`);

  const tensors: Record<string, NamedTensor> = Object.create(null);
  const dtypes: Record<string, string> = Object.create(null);
  const bf16 = new Uint32Array(1), bf16f = new Float32Array(bf16.buffer);
  for (const e of sorted) {
    const data = new Float32Array(e.count);
    const o = dataStart + e.begin;
    for (let i = 0; i < e.count; i++) {
      switch (e.dtype) {
        case 'F32': data[i] = view.getFloat32(o + 4 * i, true); break;
        case 'F64': data[i] = view.getFloat64(o + 8 * i, true); break;
        case 'F16': data[i] = halfToFloat(view.getUint16(o + 2 * i, true)); break;
        case 'I64': {
          const v = view.getBigInt64(o + 8 * i, true);
          if (v > 2n ** 24n || v < -(2n ** 24n)) bad(`tensor ${JSON.stringify(e.name.slice(0, 80))}: I64 value ${i} is ${v}, past what float32 holds exactly (2^24)`, 'mnist-ts keeps every tensor, counts too, as float32');
          data[i] = Number(v);
          break;
        }
        default:
          // bfloat16 is the top half of a float32
          bf16[0] = view.getUint16(o + 2 * i, true) << 16;
          data[i] = bf16f[0];
      }
    }
    tensors[e.name] = { shape: e.shape, data };
    dtypes[e.name] = e.dtype;
  }
  return { tensors, metadata, dtypes };
}
