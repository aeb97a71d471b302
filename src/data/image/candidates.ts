// Candidate ink: connected regions of an ink-strength map, each judged (touches the picture's
// border? a long straight line? a filled blob rather than a stroke? darker or lighter than the
// paper around it?) and grouped with its nearby pieces into a candidate digit.

export interface Region {
  id: number;
  /** Sum of the strength over the region. */
  mass: number;
  area: number;
  /** Pixel edges between the region and the rest: 2·area/edges·4/π is its mean stroke width. */
  edges: number;
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  y1: number;
  /** How far it departs from the paper around it, as a fraction of the range there (0..1). */
  contrast?: number;
  /** Why this region cannot be (the main part of) a digit; undefined when it can. */
  rejected?: string;
}

export interface Labels { label: Int32Array; regions: Region[] }

/** 8-connected components of `mask`, with the mass of `s` over each. */
export function labelRegions(mask: Uint8Array, s: Float32Array, w: number, h: number): Labels {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const regions: Region[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (label[start] !== -1 || !mask[start]) continue;
    const c: Region = { id: regions.length, mass: 0, area: 0, edges: 0, x0: w, y0: h, x1: 0, y1: 0 };
    let sp = 0;
    stack[sp++] = start;
    label[start] = c.id;
    while (sp > 0) {
      const i = stack[--sp];
      const x = i % w, y = (i - x) / w;
      c.mass += s[i];
      c.area++;
      if (x === 0 || !mask[i - 1]) c.edges++;
      if (x === w - 1 || !mask[i + 1]) c.edges++;
      if (y === 0 || !mask[i - w]) c.edges++;
      if (y === h - 1 || !mask[i + w]) c.edges++;
      if (x < c.x0) c.x0 = x;
      if (x + 1 > c.x1) c.x1 = x + 1;
      if (y < c.y0) c.y0 = y;
      if (y + 1 > c.y1) c.y1 = y + 1;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          if (label[j] === -1 && mask[j]) {
            label[j] = c.id;
            stack[sp++] = j;
          }
        }
      }
    }
    regions.push(c);
  }
  return { label, regions };
}

/** Binary closing (dilate then erode, square of radius r): joins chalk's speckle into strokes. */
export function closeMask(m: Uint8Array, w: number, h: number, r: number): Uint8Array {
  if (r < 1) return m;
  return minMax(minMax(m, w, h, r, 1), w, h, r, 0);
}

function minMax(m: Uint8Array, w: number, h: number, r: number, grow: 0 | 1): Uint8Array {
  const tmp = new Uint8Array(w * h), out = new Uint8Array(w * h);
  const hit = grow ? 1 : 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 1 - hit;
      for (let k = Math.max(0, x - r); k <= Math.min(w - 1, x + r); k++) if (m[y * w + k] === hit) { v = hit; break; }
      tmp[y * w + x] = v;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 1 - hit;
      for (let k = Math.max(0, y - r); k <= Math.min(h - 1, y + r); k++) if (tmp[k * w + x] === hit) { v = hit; break; }
      out[y * w + x] = v;
    }
  }
  return out;
}

/**
 * Marks regions that cannot be the digit. `ref` is the brightness over the local median
 * brightness, so "the paper around it" means the same in a shadow as in full light; the paper
 * around a region is the median of `ref` in its box grown by half its size (strokes cover well
 * under half of that). `polarity`: dark ink (true), light ink (false), or no test (colour).
 */
export function judgeRegions(lb: Labels, ref: Float32Array, w: number, h: number, polarity: boolean | undefined, minSide: number): void {
  const { label, regions } = lb;
  const photo = Math.max(w, h) >= 256;
  for (const c of regions) {
    const bw = c.x1 - c.x0, bh = c.y1 - c.y0, long = Math.max(bw, bh);
    const stroke = (2 * c.area) / (c.edges * (Math.PI / 4));
    if (long < 0.04 * minSide) c.rejected = 'a speck';
    // a small picture is a crop of the digit, which MNIST-style centring may push to the edge
    else if (photo && (c.x0 === 0 || c.y0 === 0 || c.x1 === w || c.y1 === h)) c.rejected = 'touches the edge of the picture';
    else if (bw > 3 * bh || (bh > 4 * bw && bh > 0.75 * h && stroke < 0.06 * long)) c.rejected = 'a long line';
    else if (stroke > 0.4 * long && long > 0.1 * minSide) c.rejected = 'a filled region, not a stroke';
  }
  if (polarity === undefined) return;
  const sums = new Float64Array(regions.length);
  for (let i = 0; i < label.length; i++) if (label[i] >= 0) sums[label[i]] += ref[i];
  for (const c of regions) {
    if (c.rejected) continue;
    const gx = Math.ceil((c.x1 - c.x0) / 2), gy = Math.ceil((c.y1 - c.y0) / 2);
    const X0 = Math.max(0, c.x0 - gx), X1 = Math.min(w, c.x1 + gx), Y0 = Math.max(0, c.y0 - gy), Y1 = Math.min(h, c.y1 + gy);
    const step = Math.max(1, Math.floor(Math.sqrt(((X1 - X0) * (Y1 - Y0)) / 4096)));
    const around: number[] = [];
    for (let y = Y0; y < Y1; y += step) for (let x = X0; x < X1; x += step) around.push(ref[y * w + x]);
    around.sort((a, b) => a - b);
    const paper = around[around.length >> 1];
    const diff = polarity ? paper - sums[c.id] / c.area : sums[c.id] / c.area - paper;
    const range = around[around.length - 1] - around[0];
    c.contrast = range > 0 ? diff / range : 0;
    if (diff < 0.25 * range) c.rejected = polarity ? 'not darker than the paper around it' : 'not lighter than the paper around it';
  }
}

/**
 * Drops the holes: paper enclosed by the strokes (the loop of a "9") stands out as ink of the
 * opposite polarity; a region whose box lies inside the box of a region of the other polarity
 * is such a hole (when each lies inside the other, neither is dropped here).
 */
export function dropHoles(a: Region[], b: Region[]): void {
  const inside = (p: Region, q: Region) => {
    const tol = 0.05 * Math.max(q.x1 - q.x0, q.y1 - q.y0);
    return p.x0 >= q.x0 - tol && p.y0 >= q.y0 - tol && p.x1 <= q.x1 + tol && p.y1 <= q.y1 + tol;
  };
  for (const p of a) {
    if (p.rejected) continue;
    for (const q of b) {
      if (q.rejected) continue;
      const pq = inside(p, q), qp = inside(q, p);
      if (pq && qp) continue;
      if (pq) p.rejected = 'paper between strokes';
      else if (qp) q.rejected = 'paper between strokes';
    }
  }
}

/**
 * The candidate digit around `seed`: the seed plus the other acceptable regions close to it (a
 * "5" whose bar does not touch, broken or speckled strokes). Returns the chosen region ids.
 */
export function groupAround(regions: Region[], seed: Region): Set<number> {
  const kept = new Set([seed.id]);
  const u = { x0: seed.x0, y0: seed.y0, x1: seed.x1, y1: seed.y1 };
  const minMass = 0.01 * seed.mass;
  for (let changed = true; changed; ) {
    changed = false;
    const margin = 0.25 * Math.max(u.x1 - u.x0, u.y1 - u.y0) + 1;
    for (const c of regions) {
      if (kept.has(c.id) || c.mass < minMass || (c.rejected && c.rejected !== 'a speck')) continue;
      const near = c.x1 >= u.x0 - margin && c.x0 <= u.x1 + margin && c.y1 >= u.y0 - margin && c.y0 <= u.y1 + margin;
      if (!near) continue;
      kept.add(c.id);
      u.x0 = Math.min(u.x0, c.x0);
      u.y0 = Math.min(u.y0, c.y0);
      u.x1 = Math.max(u.x1, c.x1);
      u.y1 = Math.max(u.y1, c.y1);
      changed = true;
    }
  }
  return kept;
}
