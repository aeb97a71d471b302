// mnist-export and mnist-import as a user runs them (one representative case each; the rest of the
// command-line cases are in interop.slow.test.ts, each spawn costs most of a second).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/interop/safetensors.ts';
import { expectOneLineError, runBin } from './helpers.ts';
import { lyingLength, weightsDir } from './interop-helpers.ts';

describe('mnist-export / mnist-import', () => {
  it('export picks the format from the extension; --format overrides it', () => {
    const { dir, weights } = weightsDir();
    const r = runBin('mnist-export', [weights, join(dir, 'model.bin'), '--format', 'safetensors']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*model\.bin \(safetensors, \d+ KB\): 4 tensors under their state_dict keys/);
    const st = decodeSafetensors(readFileSync(join(dir, 'model.bin')), 'model.bin');
    expect(Object.keys(st.tensors)).toEqual(['0.weight', '0.bias', '4.weight', '4.bias']);
    expect(st.metadata['mnist_ts.arch']).toBe('conv(4,3) relu maxpool(2) flatten linear(10)');
  });

  it('import refuses a header that claims 10^12 bytes in one line, and writes nothing', () => {
    const { dir } = weightsDir();
    const bad = join(dir, 'bad.safetensors');
    lyingLength(bad, 10n ** 12n);
    const r = runBin('mnist-import', [bad, '--out', join(dir, 'out.json')]);
    expectOneLineError(r, /^error: .*bad\.safetensors: the header claims 1,000,000,000,000 bytes, past the 100,000,000-byte limit/);
    expect(existsSync(join(dir, 'out.json'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['bad.safetensors', 'w.json']);
  });
});
