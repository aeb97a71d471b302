// readInputFile, as mnist-import reads a .safetensors file with it (readWeightsFile's cases are in
// weights-file.test.ts): the command's own error, the file named, nothing opened that could block.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/cli/import.ts';
import { readInputFile } from '../../src/cli/read-input.ts';
import { thrownMessage } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'read-input-'));
const opts = { what: 'a .safetensors file', max: 2 ** 20, error: (m: string, h?: string) => new ImportError(m, h) };

const message = (path: string) => thrownMessage(() => readInputFile(path, opts), ImportError);

describe('readInputFile', () => {
  it('returns the bytes of a regular file within the limit', () => {
    const p = join(tmp, 'ok.safetensors');
    writeFileSync(p, 'sixteen bytes!!!');
    expect(Buffer.from(readInputFile(p, opts)).toString()).toBe('sixteen bytes!!!');
  });

  it.each<[string, () => string, string]>([
    ['a missing file', () => join(tmp, 'none.safetensors'), 'none.safetensors: no such file'],
    ['a directory', () => (mkdirSync(join(tmp, 'd.safetensors')), join(tmp, 'd.safetensors')), 'd.safetensors: is a directory, expected a .safetensors file'],
    ['a FIFO (opening it would wait for a writer)', () => (execFileSync('mkfifo', [join(tmp, 'f.safetensors')]), join(tmp, 'f.safetensors')), 'f.safetensors: not a regular file, expected a .safetensors file'],
    ['an empty file', () => (writeFileSync(join(tmp, 'e.safetensors'), ''), join(tmp, 'e.safetensors')), 'e.safetensors: the file is empty'],
    ['a file past the limit (sparse: nothing is read)', () => {
      const p = join(tmp, 'big.safetensors'), fd = openSync(p, 'w');
      ftruncateSync(fd, 2 ** 20 + 1);
      closeSync(fd);
      return p;
    }, 'big.safetensors: 1,048,577 bytes is past the limit of 1 MB for a .safetensors file'],
  ])('refuses %s in one line', (_, make, expected) => {
    const p = make();
    expect(message(p)).toBe(`${p.slice(0, p.lastIndexOf('/') + 1)}${expected}`);
  });
});
