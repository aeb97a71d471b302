// Float32 tensors as JSON ({shape, data}) with the shortest decimal per value, so every weight
// and optimizer buffer round-trips exactly through JSON.parse + Float32Array.
import { CheckpointError } from './errors.ts';
import { fail, get, obj, onlyKeys } from './json-fields.ts';

export interface TensorJson {
  shape: number[];
  data: number[];
}

/**
 * Shortest decimal that reads back as the same float32, so files are compact (about 9 characters
 * a value) and every weight round-trips exactly through JSON.parse + Float32Array.
 */
export function float32ToShortest(v: number): number {
  if (!Number.isFinite(v)) throw new CheckpointError(`cannot store non-finite value ${v}`);
  if (v === 0) return 0;
  // Whether p digits read back as v is monotone in p: the nearest p+1-digit decimal is never
  // farther than the nearest p-digit one. (A power of two, whose gap below is half its gap above,
  // could break that in principle; the tests check every float32 power of two.) So the search
  // starts at 7 digits, what trained weights mostly need besides 8: about 2 tries a value instead
  // of 3 counting up from 6, and this conversion is most of the time a weights file takes to write.
  let best = readsBack(v, 7);
  if (best === undefined) return readsBack(v, 8) ?? readsBack(v, 9) ?? v;
  for (let p = 6; p >= 1; p--) {
    const s = readsBack(v, p);
    if (s === undefined) break;
    best = s;
  }
  return best;
}

/** v to p significant digits, if that reads back as v in float32. */
function readsBack(v: number, p: number): number | undefined {
  const s = +v.toPrecision(p);
  return Math.fround(s) === v ? s : undefined;
}

export function tensorToJson(t: { shape: readonly number[]; data: ArrayLike<number> }): TensorJson {
  const data = new Array<number>(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = float32ToShortest(t.data[i]);
  return { shape: [...t.shape], data };
}

/**
 * Checks an untrusted {shape, data} against the shape the model needs: the shape itself, the
 * number of values, and that every value is a finite number. Returns a fresh TensorJson; `into`
 * receives the values as float32 in the same pass.
 */
export function checkTensor(v: unknown, path: string, shape: readonly number[], into?: Float32Array): TensorJson {
  const o = obj(v, path, '{"shape": [...], "data": [...]}');
  onlyKeys(o, path, ['shape', 'data']);
  const s = get(o, 'shape');
  if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    fail(`${path}.shape`, `[${shape.join(', ')}] (from the model's layers)`, s);
  }
  const data = get(o, 'data');
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Array.isArray(data)) fail(`${path}.data`, `a list of ${n} numbers`, data);
  if (data.length !== n) throw new CheckpointError(`${path}.data: expected ${n} values for shape [${shape.join(', ')}], found ${data.length}`);
  for (let i = 0; i < n; i++) {
    const x = data[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${path}.data[${i}]`, 'a finite number', x);
    // NOTE: float32 holds magnitudes below about 3.4e38; a larger double would load as Infinity.
    if (Math.abs(x) > 3.4028234663852886e38) fail(`${path}.data[${i}]`, 'a number within float32 range', x);
    if (into) into[i] = x;
  }
  return { shape: [...shape], data: data as number[] };
}
