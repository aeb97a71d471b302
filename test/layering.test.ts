// The architecture as a test: each layer imports only the ones below it, and the pure layers
// (engine, nn, optim, train) never touch the file system, the terminal or the process.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => m[1] ?? m[2]);
}

// which sibling layers each layer may import
const ALLOWED: Record<string, string[]> = {
  engine: [],
  nn: ['engine'],
  optim: ['engine', 'nn'],
  train: ['engine', 'nn', 'optim'],
  data: ['engine'],
  interop: ['engine', 'nn', 'train'],
  // the live page's script: bundled for the browser, so no node: module anywhere below it
  live: ['engine', 'nn', 'data', 'report'],
};
const FORBIDDEN_PACKAGES = /^(node:)?(fs|fs\/promises|child_process|readline|tty)$|^(commander|chalk|ora|cli-progress)$/;

describe('layering', () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    it(`src/${layer} imports only ${allowed.length ? allowed.join(', ') : 'itself'}`, () => {
      const files = sourceFiles(join(SRC, layer));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        for (const spec of imports(f)) {
          const m = /^\.\.\/([a-z]+)\//.exec(spec);
          if (m) expect(allowed, `${relative(SRC, f)} imports ${spec}`).toContain(m[1]);
          if (layer !== 'data') expect(spec, `${relative(SRC, f)} imports ${spec}`).not.toMatch(FORBIDDEN_PACKAGES);
        }
      }
    });
  }

  it('keeps node: modules and Node-only packages out of the code the live page bundles', () => {
    // what src/live/app.ts reaches: esbuild (platform browser) would fail on these, the page would break
    const browser = [join(SRC, 'live'), join(SRC, 'engine'), join(SRC, 'nn')];
    const files = [...browser.flatMap(sourceFiles), join(SRC, 'data/image.ts'), join(SRC, 'report/activations.ts'), join(SRC, 'report/colors.ts')];
    for (const f of files.filter((f) => f.endsWith('.ts'))) {
      for (const spec of imports(f)) {
        expect(spec, `${relative(SRC, f)} imports ${spec}`).not.toMatch(/^node:|^(fs|path|os|zlib|url|child_process|worker_threads)$|^(pngjs|jpeg-js|esbuild)$/);
      }
    }
  });

  it('keeps process and the terminal out of engine, nn, optim and train', () => {
    for (const layer of ['engine', 'nn', 'optim', 'train', 'interop']) {
      for (const f of sourceFiles(join(SRC, layer))) {
        expect(readFileSync(f, 'utf8'), `${relative(SRC, f)} uses process`).not.toMatch(/\bprocess\.(env|exit|stdout|stderr|argv|on)\b/);
      }
    }
  });
});
