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

/** Marks regions that cannot be the digit: specks, edges of the picture, long lines, filled blobs. */
export function judgeRegions(lb: Labels, w: number, h: number, minSide: number): void {
  const { regions } = lb;
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
}

/**
 * Polarity from the paper around the ink: where a dark region and a light region overlap, one of
 * them is the ink and the other the paper between its strokes (the loop of a "9" stands out as
 * light against dark strokes just as chalk does against the board). The paper is whichever is
 * closer in brightness (as a ratio, so a shadow does not matter) to the ring of picture around
 * both; that one is set aside.
 */
export function settlePolarity(dk: Labels, lt: Labels, lum: Float32Array, w: number, h: number): void {
  const mean = (lb: Labels) => {
    const sums = new Float64Array(lb.regions.length);
    for (let i = 0; i < lb.label.length; i++) if (lb.label[i] >= 0) sums[lb.label[i]] += lum[i];
    return lb.regions.map((r) => sums[r.id] / r.area);
  };
  const md = mean(dk), ml = mean(lt);
  for (const d of dk.regions) {
    if (d.rejected) continue;
    for (const l of lt.regions) {
      if (l.rejected) continue;
      const ix = Math.min(d.x1, l.x1) - Math.max(d.x0, l.x0), iy = Math.min(d.y1, l.y1) - Math.max(d.y0, l.y0);
      if (ix <= 0 || iy <= 0) continue;
      const smaller = Math.min((d.x1 - d.x0) * (d.y1 - d.y0), (l.x1 - l.x0) * (l.y1 - l.y0));
      if (ix * iy < 0.3 * smaller) continue;
      // the ring around both boxes
      const x0 = Math.min(d.x0, l.x0), y0 = Math.min(d.y0, l.y0), x1 = Math.max(d.x1, l.x1), y1 = Math.max(d.y1, l.y1);
      const g = Math.ceil(0.2 * Math.max(x1 - x0, y1 - y0)) + 2;
      const X0 = Math.max(0, x0 - g), Y0 = Math.max(0, y0 - g), X1 = Math.min(w, x1 + g), Y1 = Math.min(h, y1 + g);
      const step = Math.max(1, Math.floor(Math.sqrt(((X1 - X0) * (Y1 - Y0)) / 4096)));
      const ring: number[] = [];
      for (let y = Y0; y < Y1; y += step) for (let x = X0; x < X1; x += step) if (x < x0 || x >= x1 || y < y0 || y >= y1) ring.push(lum[y * w + x]);
      if (ring.length === 0) continue;
      ring.sort((a, b) => a - b);
      const paper = Math.max(ring[ring.length >> 1], 0.01);
      // ink must lie on its own side of the paper; if both do, the paper is the one nearer to it
      const dInk = md[d.id] < paper, lInk = ml[l.id] > paper;
      const off = (v: number) => Math.abs(Math.log(Math.max(v, 0.01) / paper));
      if (dInk && (!lInk || off(md[d.id]) >= off(ml[l.id]))) l.rejected = 'paper between strokes';
      else if (lInk) d.rejected = 'paper between strokes';
      else l.rejected = 'paper between strokes';
      if (d.rejected) break;
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
