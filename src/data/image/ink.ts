// Which pixels are the digit: connected components of the ink, the largest and its neighbours, and their extent.

/**
 * Marks the digit: 8-connected components of the ink cores (v ≥ 0.3); the one with the most
 * ink, plus components close to it (a "5" whose top bar does not touch, a broken stroke); then
 * the faint edges connected to those. Specks elsewhere are dropped.
 */
export function digitMask(v: Float32Array, w: number, h: number): Uint8Array | undefined {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const comps: { mass: number; x0: number; y0: number; x1: number; y1: number }[] = [];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (label[start] !== -1 || v[start] < 0.3) continue;
    const id = comps.length;
    const c = { mass: 0, x0: w, y0: h, x1: 0, y1: 0 };
    let sp = 0;
    stack[sp++] = start;
    label[start] = id;
    while (sp > 0) {
      const i = stack[--sp];
      const x = i % w, y = (i - x) / w;
      c.mass += v[i];
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
          if (label[j] === -1 && v[j] >= 0.3) {
            label[j] = id;
            stack[sp++] = j;
          }
        }
      }
    }
    comps.push(c);
  }
  if (comps.length === 0) return undefined;
  let best = 0;
  for (let i = 1; i < comps.length; i++) if (comps[i].mass > comps[best].mass) best = i;
  const kept = new Uint8Array(comps.length);
  kept[best] = 1;
  const u = { ...comps[best] };
  const minMass = 0.01 * comps[best].mass;
  for (let changed = true; changed; ) {
    changed = false;
    const margin = 0.25 * Math.max(u.x1 - u.x0, u.y1 - u.y0) + 1;
    for (let i = 0; i < comps.length; i++) {
      const c = comps[i];
      if (kept[i] || c.mass < minMass) continue;
      const near = c.x1 >= u.x0 - margin && c.x0 <= u.x1 + margin && c.y1 >= u.y0 - margin && c.y0 <= u.y1 + margin;
      if (near || c.mass >= 0.5 * comps[best].mass) {
        kept[i] = 1;
        u.x0 = Math.min(u.x0, c.x0);
        u.y0 = Math.min(u.y0, c.y0);
        u.x1 = Math.max(u.x1, c.x1);
        u.y1 = Math.max(u.y1, c.y1);
        changed = true;
      }
    }
  }
  // grow the kept cores through the faint pixels around them (antialiased edges)
  const keep = new Uint8Array(n);
  let sp = 0;
  for (let i = 0; i < n; i++) {
    if (label[i] >= 0 && kept[label[i]]) {
      keep[i] = 1;
      stack[sp++] = i;
    }
  }
  while (sp > 0) {
    const i = stack[--sp];
    const x = i % w, y = (i - x) / w;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (!keep[j] && v[j] > 0 && label[j] === -1) {
          keep[j] = 1;
          stack[sp++] = j;
        }
      }
    }
  }
  return keep;
}

/** Bounding box [x0, x1) × [y0, y1) of the pixels ≥ t: the geometric extent of antialiased ink. */
export function extent(v: Float32Array, w: number, h: number, t: number): { x0: number; y0: number; x1: number; y1: number } | undefined {
  let x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (v[y * w + x] >= t) {
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y >= y1) y1 = y + 1;
      }
    }
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : undefined;
}
