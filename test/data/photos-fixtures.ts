// Shared by the photo tests: the generator's sources and how well a found box matches the truth.
import { loadGlyphs, type Box, type Sources } from '../../scripts/photos/scenes.ts';
import { mnistTest } from './image-fixtures.ts';

export async function photoSources(): Promise<Sources> {
  return { mnist: await mnistTest(), glyphs: loadGlyphs() };
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
