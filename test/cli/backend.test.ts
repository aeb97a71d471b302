// --backend on the command line: the weights file records it, a resume keeps it, and a resume on
// the other backend works and says it is not bit-identical.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-backend-fast-'));
const at = (name: string) => join(tmp, name);
const load = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('--backend', () => {
  it('records the backend; a resume keeps it, and one on the other backend works and says it is not bit-identical', () => {
    const args = ['--limit', '640', '--test-limit', '200', '--hidden', '16', '--seed', '3', '--threads', '1', '--quiet'];
    expect(runBin('mnist-train', [...args, '--backend', 'js', '--epochs', '1', '--out', at('b-js.json')]).code).toBe(0);
    expect(load(at('b-js.json')).training.backend).toBe('js');
    const same = runBin('mnist-train', ['--resume', at('b-js.json'), '--epochs', '2', '--out', at('b-js2.json'), '--quiet']);
    expect(same.stderr).toBe('');
    expect(load(at('b-js2.json')).training.backend).toBe('js');
    const other = runBin('mnist-train', ['--resume', at('b-js.json'), '--epochs', '2', '--backend', 'wasm', '--quiet']);
    expect(other.code).toBe(0);
    expect(other.stderr).toMatch(/^warning: training on the wasm backend where .*b-js\.json used js: the result will not be bit-identical/m);
    const after = load(at('b-js.json'));
    expect(after.training.backend).toBe('wasm');
    expect(after.metrics).toHaveLength(2);
  });
});
