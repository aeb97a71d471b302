// The contact sheet of `mnist-eval --errors`: misclassified images in a grid, each captioned
// "true>predicted" in a 3x5 bitmap font. Pure pixels; the CLI encodes and writes the PNG.

/** Enlarges by an integer factor, each pixel becoming an f×f block. */
export function scaleNearest(px: Uint8Array, w: number, h: number, f: number): Uint8Array {
  const out = new Uint8Array(w * f * h * f);
  for (let y = 0; y < h * f; y++) {
    const src = Math.floor(y / f) * w;
    for (let x = 0; x < w * f; x++) out[y * w * f + x] = px[src + Math.floor(x / f)];
  }
  return out;
}

// 3×5 bitmap digits for the tile captions ("7>2": true class, then the prediction)
const GLYPHS: Record<string, string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['.#.', '##.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '.##', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '.#.', '.#.', '.#.'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
  '>': ['#..', '.#.', '..#', '.#.', '#..'],
};

/**
 * A grid of the images, each with a caption strip "true>predicted" under it (class indices),
 * on a mid-grey background so the black image edges show.
 */
export function contactSheet(tiles: { image: Uint8Array; top: number; bottom: number }[], rows: number, cols: number): { pixels: Uint8Array; width: number; height: number } {
  const per = Math.max(1, Math.min(40, Math.ceil(Math.sqrt(tiles.length * 1.2))));
  const gap = 2, caption = 8;
  const tw = cols + gap, th = rows + caption + gap;
  const gridRows = Math.max(1, Math.ceil(tiles.length / per));
  const width = per * tw + gap, height = gridRows * th + gap;
  const out = new Uint8Array(width * height).fill(96);
  tiles.forEach((t, k) => {
    const ox = gap + (k % per) * tw, oy = gap + Math.floor(k / per) * th;
    for (let y = 0; y < rows; y++) out.set(t.image.subarray(y * cols, (y + 1) * cols), (oy + y) * width + ox);
    const text = `${t.top}>${t.bottom}`;
    for (let y = 0; y < caption; y++) out.fill(255, (oy + rows + y) * width + ox, (oy + rows + y) * width + ox + cols);
    let x = ox + 1;
    for (const ch of text) {
      const g = GLYPHS[ch];
      if (!g) continue;
      for (let gy = 0; gy < 5; gy++) for (let gx = 0; gx < 3; gx++) if (g[gy][gx] === '#') out[(oy + rows + 2 + gy) * width + x + gx] = 0;
      x += 4;
    }
  });
  return { pixels: out, width, height };
}
