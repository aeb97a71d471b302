// Connected regions of a mask (8-neighbours), with their mass, area, outline and box, and a flood
// fill that grows a set of pixels through the neighbours a test accepts, and the grouping of a
// region with the pieces near it. Every stage that looks for pieces of ink uses these.

export interface Region {
  id: number;
  /** Sum of the weight over the region. */
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

export interface Labels {
  /** Region id of every pixel, -1 outside the mask. */
  label: Int32Array;
  /** In the order their first pixel comes in a raster scan; regions[id].id === id. */
  regions: Region[];
}

/**
 * 8-connected components of `mask`, with the mass of `weight` over each. The flood is written out
 * (floodRegion) rather than through floodStack's callbacks: this runs on every picture's working
 * copy, and a loop with no calls in it is fast before V8 has compiled it and quick to compile.
 */
export function labelRegions(mask: Uint8Array, weight: ArrayLike<number>, w: number, h: number): Labels {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const regions: Region[] = [];
  const stack = new Int32Array(n);
  const found = new Float64Array(8);
  for (let start = nextSeed(mask, label, 0); start < n; start = nextSeed(mask, label, start + 1)) {
    const id = regions.length;
    floodRegion(mask, weight, label, stack, start, id, w, h, found);
    regions.push({ id, mass: found[0], area: found[1], edges: found[2], x0: found[3], y0: found[4], x1: found[5], y1: found[6] });
  }
  return { label, regions };
}

/** The first pixel from `i` on that is in the mask and not yet labelled (the mask's length if none). */
function nextSeed(mask: Uint8Array, label: Int32Array, i: number): number {
  const n = mask.length;
  while (i < n && (label[i] !== -1 || !mask[i])) i++;
  return i;
}

/**
 * Labels `id` the region of `start`, depth first, and puts its mass, area, edges and box
 * (x0, y0, x1, y1) into `out`.
 */
function floodRegion(mask: Uint8Array, weight: ArrayLike<number>, label: Int32Array, stack: Int32Array, start: number, id: number, w: number, h: number, out: Float64Array): void {
  let mass = 0, area = 0, edges = 0, x0 = w, y0 = h, x1 = 0, y1 = 0;
  label[start] = id;
  stack[0] = start;
  let sp = 1;
  // the same order as floodStack: the mass is summed in the same order
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % w, y = (i - x) / w;
    mass += weight[i];
    area++;
    if (x === 0 || !mask[i - 1]) edges++;
    if (x === w - 1 || !mask[i + 1]) edges++;
    if (y === 0 || !mask[i - w]) edges++;
    if (y === h - 1 || !mask[i + w]) edges++;
    if (x < x0) x0 = x;
    if (x + 1 > x1) x1 = x + 1;
    if (y < y0) y0 = y;
    if (y + 1 > y1) y1 = y + 1;
    for (let yy = y > 0 ? y - 1 : 0, ye = y < h - 1 ? y + 1 : y; yy <= ye; yy++) {
      for (let j = yy * w + (x > 0 ? x - 1 : 0), je = yy * w + (x < w - 1 ? x + 1 : x); j <= je; j++) {
        if (label[j] === -1 && mask[j]) {
          label[j] = id;
          stack[sp++] = j;
        }
      }
    }
  }
  out[0] = mass;
  out[1] = area;
  out[2] = edges;
  out[3] = x0;
  out[4] = y0;
  out[5] = x1;
  out[6] = y1;
}

/**
 * Depth-first flood from the `count` pixels on `stack` (already marked by the caller): each
 * popped pixel is `visit`ed, and each of its 8 neighbours that `enter` accepts (and marks, so it
 * is not entered twice) is pushed. `stack` must hold w·h entries.
 */
export function floodStack(stack: Int32Array, count: number, w: number, h: number, visit: ((i: number, x: number, y: number) => void) | undefined, enter: (j: number) => boolean): void {
  let sp = count;
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % w, y = (i - x) / w;
    visit?.(i, x, y);
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (enter(j)) stack[sp++] = j;
      }
    }
  }
}

/** The union of the regions' boxes, [x0, x1) × [y0, y1). */
export function unionBox(regions: Iterable<Region>): { x0: number; y0: number; x1: number; y1: number } {
  const u = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const r of regions) {
    if (r.x0 < u.x0) u.x0 = r.x0;
    if (r.y0 < u.y0) u.y0 = r.y0;
    if (r.x1 > u.x1) u.x1 = r.x1;
    if (r.y1 > u.y1) u.y1 = r.y1;
  }
  return u;
}

/**
 * The region `seed` with the other regions close to it (a "5" whose bar does not touch, broken or
 * speckled strokes), and those `alsoFar` accepts wherever they are; regions under 1% of the
 * seed's mass, and rejected ones other than specks, stay out. Returns the chosen region ids.
 */
export function groupAround(regions: Region[], seed: Region, alsoFar?: (r: Region) => boolean): Set<number> {
  const kept = new Set([seed.id]);
  const u = { x0: seed.x0, y0: seed.y0, x1: seed.x1, y1: seed.y1 };
  const minMass = 0.01 * seed.mass;
  for (let changed = true; changed; ) {
    changed = false;
    const margin = 0.25 * Math.max(u.x1 - u.x0, u.y1 - u.y0) + 1;
    for (const c of regions) {
      if (kept.has(c.id) || c.mass < minMass || (c.rejected && c.rejected !== 'a speck')) continue;
      const near = c.x1 >= u.x0 - margin && c.x0 <= u.x1 + margin && c.y1 >= u.y0 - margin && c.y0 <= u.y1 + margin;
      if (!near && !alsoFar?.(c)) continue;
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
