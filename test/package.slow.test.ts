// The package a user installs: `npm pack`, installed into an empty prefix as `npm install -g`
// would, gives the three commands on the PATH, and they train offline without the repository.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'package-'));
const prefix = join(tmp, 'prefix');
const bin = (name: string) => join(prefix, 'bin', name);

describe('the packed package', () => {
  it('holds what a user runs, not the tests', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' }));
    const files: string[] = pack.files.map((f: { path: string }) => f.path);
    expect(files).toContain('bin/mnist-train.mjs');
    expect(files).toContain('src/cli/train-main.ts');
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('scripts/') || f.startsWith('.ci/'))).toEqual([]);
    // npm's registry and cache only: the dependencies are the ones package-lock.json pins
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(tmp, pack.filename)], { cwd: tmp, stdio: 'pipe' });
    for (const name of ['mnist-train', 'mnist-eval', 'mnist-predict']) expect(existsSync(bin(name)), name).toBe(true);
  }, 300_000);

  it.each(['mnist-train', 'mnist-eval', 'mnist-predict'])('%s --help works from the installed package', (name) => {
    const r = spawnSync(bin(name), ['--help'], { cwd: tmp, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: ${name} `));
  });

  it('trains a tiny model from an empty folder, and mnist-eval reads what it wrote', () => {
    const cwd = mkdtempSync(join(tmp, 'user-'));
    const r = spawnSync(bin('mnist-train'), ['--limit', '500', '--test-limit', '200', '--epochs', '1', '--hidden', '16', '--quiet'], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'weights.json'), 'utf8')).metrics).toHaveLength(1);
    const e = spawnSync(bin('mnist-eval'), ['weights.json', '--limit', '100'], { cwd, encoding: 'utf8' });
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/^accuracy +\d+\.\d\d%/m);
  }, 120_000);
});
