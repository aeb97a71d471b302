// The report layer renders data the library computes: it does no I/O and sits beside cli/, which
// is the only code that imports it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
}

describe('src/report layering', () => {
  it('imports only nn/, train/, engine/, its own files and pngjs; no file system, process or terminal libraries', () => {
    const files = tsFiles(join(SRC, 'report'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      for (const spec of imports(f)) {
        expect(spec, `${relative(SRC, f)} imports ${spec}`).toMatch(/^(\.\/|\.\.\/(nn|train|engine)\/|pngjs$)/);
      }
      expect(readFileSync(f, 'utf8'), `${relative(SRC, f)} uses process`).not.toMatch(/\bprocess\./);
    }
  });

  it('is imported by cli/ only, and by the live page (live/) for its pure data and colours', () => {
    for (const f of tsFiles(SRC)) {
      const dir = relative(SRC, f).split('/')[0];
      if (dir === 'cli' || dir === 'report') continue;
      for (const spec of imports(f)) {
        if (dir === 'live' && /^\.\.\/report\/(activations|colors)\.ts$/.test(spec)) continue;
        expect(spec, `${relative(SRC, f)} imports ${spec}`).not.toMatch(/\/report\//);
      }
    }
  });
});
