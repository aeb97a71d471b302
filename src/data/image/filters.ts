// Neighbourhood filters on float images: a 3×3 blur and a chamfer distance transform.

/**
 * 3×3 binomial blur ([1 2 1]/4 along rows, then columns; the edge pixel stands in for the one
 * beyond it). Written row by row, the edges apart, so the inner loops are plain; each pass is a
 * function of its own, so V8 compiles each loop alone.
 */
export function blur3(a: Float32Array, w: number, h: number): Float32Array {
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  blurRows(a, tmp, w, h);
  blurColumns(tmp, out, w, h);
  return out;
}

function blurRows(a: Float32Array, out: Float32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const o = y * w, e = o + w - 1;
    if (w === 1) {
      out[o] = 0.25 * a[o] + 0.5 * a[o] + 0.25 * a[o];
      continue;
    }
    out[o] = 0.25 * a[o] + 0.5 * a[o] + 0.25 * a[o + 1];
    for (let i = o + 1; i < e; i++) out[i] = 0.25 * a[i - 1] + 0.5 * a[i] + 0.25 * a[i + 1];
    out[e] = 0.25 * a[e - 1] + 0.5 * a[e] + 0.25 * a[e];
  }
}

function blurColumns(a: Float32Array, out: Float32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const o = y * w, up = y > 0 ? o - w : o, down = y < h - 1 ? o + w : o;
    for (let x = 0; x < w; x++) out[o + x] = 0.25 * a[up + x] + 0.5 * a[o + x] + 0.25 * a[down + x];
  }
}

/**
 * Chamfer (3-4) distance, in pixels, from every pixel to the nearest pixel where `inside` is
 * set: two raster passes, whatever the distance.
 */
export function distanceTo(inside: Uint8Array, w: number, h: number): Float32Array {
  const INF = 1e9;
  const d = new Float32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = inside[i] ? 0 : INF;
  const a = 1, b = 4 / 3; // 3-4 chamfer scaled so that an axis step is 1
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let m = d[i];
      if (x > 0) m = Math.min(m, d[i - 1] + a);
      if (y > 0) {
        m = Math.min(m, d[i - w] + a);
        if (x > 0) m = Math.min(m, d[i - w - 1] + b);
        if (x < w - 1) m = Math.min(m, d[i - w + 1] + b);
      }
      d[i] = m;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      let m = d[i];
      if (x < w - 1) m = Math.min(m, d[i + 1] + a);
      if (y < h - 1) {
        m = Math.min(m, d[i + w] + a);
        if (x < w - 1) m = Math.min(m, d[i + w + 1] + b);
        if (x > 0) m = Math.min(m, d[i + w - 1] + b);
      }
      d[i] = m;
    }
  }
  return d;
}
