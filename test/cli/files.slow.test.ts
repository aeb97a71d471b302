// Never destroy the user's files (issue 11), every numbered case spawned as the issue ran it:
// a full 2 MB file system (a real tmpfs, mounted when the test runs as root), a read-only one,
// SIGHUP and a closed stdout mid-run, a run stopped at --epochs 1000000, two runs on one --out,
// warnings, and mnist-predict's doubts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { canvas, digit, encodePng, mnistTest } from '../data/image-fixtures.ts';
import { expectOneLineError, runBin, startBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'files-slow-'));
const at = (name: string) => join(tmp, name);
const TINY = ['--limit', '500', '--test-limit', '100', '--hidden', '16'];

const start = (args: string[]) => startBin('mnist-train', args);

/** Mounts a tmpfs with `options` on a new directory; undefined (and a visible note) when it cannot. */
function mountTmpfs(name: string, options: string): string | undefined {
  const dir = at(name);
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return dir;
  console.warn(`SKIPPED: cannot mount a tmpfs (-o ${options}) here (${(r.stderr || r.error?.message || '').trim()}); the full-disk and read-only cases run only as root`);
  return undefined;
}

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) {
    spawnSync('umount', [m]);
    rmdirSync(m);
  }
});

describe('case 1: a full disk never destroys the good file', () => {
  const small = mountTmpfs('small', 'size=2m');
  if (small) mounts.push(small);

  it.skipIf(!small)('a valid w.json on a 2 MB file system, then --hidden 64 --out small/w.json: exit 1 naming the path, w.json unchanged and readable', () => {
    const w = join(small!, 'w.json');
    const first = runBin('mnist-train', ['--limit', '500', '--test-limit', '100', '--hidden', '8', '--epochs', '1', '--out', w, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const good = readFileSync(w);
    const r = runBin('mnist-train', ['--limit', '500', '--test-limit', '100', '--hidden', '64', '--epochs', '1', '--out', w]);
    expectOneLineError(r, /^error: --out .*w\.json: cannot write it: no space left on the device after [\d,]+ of [\d,]+ bytes; .*w\.json is unchanged; hint: free some space/);
    expect(r.stdout).not.toMatch(/weights saved/);
    expect(readFileSync(w).equals(good)).toBe(true);
    expect(readWeightsFile(w).file.model.layers[1]).toMatchObject({ outFeatures: 8 });
    // no temporary file and no lock left behind
    expect(readdirSync(small!)).toEqual(['w.json']);
  });
});

describe('case 8: --errors on a read-only file system', () => {
  const ro = mountTmpfs('ro', 'ro,size=1m');
  if (ro) mounts.push(ro);

  it.skipIf(!ro)('says "read-only file system", before the weights are even read', () => {
    writeFileSync(at('junk.json'), 'not weights');
    const r = runBin('mnist-eval', [at('junk.json'), '--errors', join(ro!, 'errs')]);
    expectOneLineError(r, /^error: --errors .*errs: cannot create files in .*: read-only file system$/);
  });
});

describe('runs that stop early say so and keep a checkpoint', () => {
  it('SIGHUP mid-run writes the checkpoint and exits 130, as Ctrl-C does (case 8)', async () => {
    const run = start([...TINY, '--epochs', '3', '--out', at('hup.json')]);
    await run.waitFor(/^epoch 1\/3 /m);
    run.child.kill('SIGHUP');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    // on a loaded machine the signal may land in a later epoch, or just after one ends: the
    // checkpoint must be where the message says
    const m = /^interrupted (?:at epoch (\d), batch (\d+)\/8|after epoch (\d)\/3); resume with: (npx )?mnist-train --resume /m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const resume = readWeightsFile(at('hup.json')).file.resume!;
    if (m![1]) expect(resume).toMatchObject({ epoch: Number(m![1]) - 1, position: { batchesDone: Number(m![2]) } });
    else expect(resume).toMatchObject({ epoch: Number(m![3]) });
  });

  it('`--epochs 3 | grep -m1 "^epoch 1/"`: the run stops when the "epoch 2/3" line cannot be written, says how to resume, exits 130 (case 5)', async () => {
    const run = start(['--limit', '2000', '--test-limit', '100', '--hidden', '16', '--epochs', '3', '--out', at('grep.json')]);
    await run.waitFor(/^epoch 1\/3 /m);
    run.child.stdout!.destroy();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/stdout was closed \(the program reading it has ended\); stopping after this batch to save a checkpoint\n/);
    expect(r.stderr).toMatch(/^interrupted after epoch 2\/3; resume with: (?:npx )?mnist-train --resume \S+grep\.json$/m);
    const resume = readWeightsFile(at('grep.json')).file.resume!;
    expect(resume).toMatchObject({ epoch: 2, epochs: 3 });
    expect(resume.position).toBeUndefined();
  });

  it('--epochs 1000000 stopped by Ctrl-C: mnist-eval reads the file and --resume continues it (case 4)', async () => {
    const run = start([...TINY, '--epochs', '1000000', '--out', at('long.json')]);
    await run.waitFor(/^epoch 1\/1000000 /m);
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
    const ev = runBin('mnist-eval', [at('long.json'), '--limit', '100']);
    expect(ev.code, ev.stderr).toBe(0);
    // the signal may land in epoch 2 or later on a busy machine: continue one epoch past what was saved
    const done = readWeightsFile(at('long.json')).file.metrics!.length;
    const resumed = runBin('mnist-train', ['--resume', at('long.json'), '--epochs', String(done + 1), '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readWeightsFile(at('long.json')).file.metrics).toHaveLength(done + 1);
  });
});

describe('two runs, one --out (case 8)', () => {
  it('the second is refused naming the first\'s PID; once the first is killed (-9), its lock is taken over', async () => {
    const a = start([...TINY, '--epochs', '100', '--out', at('shared.json')]);
    await a.waitFor(/^epoch 1\/100 /m);
    const b = runBin('mnist-train', [...TINY, '--epochs', '1', '--out', at('shared.json')]);
    expectOneLineError(b, new RegExp(`^error: --out .*shared\\.json: another run \\(PID ${a.child.pid}\\) is writing this file; hint: wait for it`));
    a.child.kill('SIGKILL');
    await a.done;
    // the run taking over also shows the warnings for ignored flags and the thread cap, once each
    const c = runBin('mnist-train', [...TINY, '--epochs', '1', '--out', at('shared.json'), '--momentum', '0.5', '--gamma', '0.5', '--threads', '64']);
    expect(c.code, c.stderr).toBe(0);
    const warnings = c.stderr.trim().split('\n');
    expect(warnings).toEqual([
      'warning: --momentum is ignored: only --optimizer sgd uses it (this run uses adam)',
      'warning: --gamma is ignored: only --scheduler step uses it (this run uses cosine-restarts)',
      expect.stringMatching(/^warning: 64 threads asked for, but this machine has \d+ cores?: training on \d+$/),
    ]);
    expect(readdirSync(tmp).filter((n) => n.startsWith('.shared.json'))).toEqual([]);
  });

  it('--log X --out X is refused before training (case 3)', () => {
    const r = runBin('mnist-train', [...TINY, '--out', at('x.jsonl'), '--log', at('x.jsonl')]);
    expectOneLineError(r, /^error: --log .*x\.jsonl: is the same file as --out/);
  });
});

describe('mnist-eval and mnist-predict', () => {
  beforeAll(() => {
    const r = runBin('mnist-train', ['--limit', '3000', '--test-limit', '100', '--hidden', '32', '--epochs', '1', '--out', at('model.json'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('mnist-eval warns once when --dataset differs from the one the weights were trained on (case 7)', () => {
    const w = JSON.parse(readFileSync(at('model.json'), 'utf8'));
    w.dataset = 'fashion-mnist';
    writeFileSync(at('fashion.json'), JSON.stringify(w));
    const r = runBin('mnist-eval', [at('fashion.json'), '--dataset', 'mnist', '--limit', '100']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^warning: .*fashion\.json was trained on fashion-mnist, evaluating it on mnist: the numbers say little about the model$/)]);
  });

  it('mnist-predict x.png --explain x.png and --explain onto the weights are refused; the picture is unchanged (case 3)', () => {
    writeFileSync(at('victim.png'), 'my picture');
    expectOneLineError(runBin('mnist-predict', ['--weights', at('model.json'), at('victim.png'), '--explain', at('victim.png')]), /--explain .*victim\.png: is also a picture/);
    expectOneLineError(runBin('mnist-predict', ['--weights', at('model.json'), at('victim.png'), '--explain', at('model.json')]), /--explain .*model\.json: is also the weights file/);
    expect(readFileSync(at('victim.png'), 'utf8')).toBe('my picture');
  });

  it('mnist-predict says "more than one digit?" for a "72" side by side and "not a digit?" for a half-black square (case 8)', async () => {
    const test = await mnistTest();
    const a = canvas(digit(test, 0), 5, 320, 180, 10, 20), b = canvas(digit(test, 1), 5, 320, 180, 160, 20);
    writeFileSync(at('72.png'), encodePng({ width: 320, height: 180, colorType: 0, bitDepth: 8, samples: Uint8Array.from(a, (v, i) => Math.round(255 * (1 - Math.max(v, b[i])))) }));
    writeFileSync(at('half.png'), encodePng({ width: 120, height: 120, colorType: 0, bitDepth: 8, samples: Uint8Array.from({ length: 120 * 120 }, (_, i) => (i % 120 < 60 ? 0 : 255)) }));
    const r = runBin('mnist-predict', ['--weights', at('model.json'), at('72.png'), at('half.png')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/72\.png: \S+ \([\d.]+%\) .*more than one digit\?/);
    expect(r.stdout).toMatch(/half\.png: \S+ \([\d.]+%\) .*not a digit\?/);
    expect(existsSync(at('model.json'))).toBe(true);
  });

  it('--save-input never writes over a picture it reads: q.png and q.input.png in one directory (case 3)', () => {
    const dir = at('pics');
    mkdirSync(dir);
    const png = readFileSync(at('72.png'));
    writeFileSync(join(dir, 'q.png'), png);
    writeFileSync(join(dir, 'q.input.png'), png);
    const r = runBin('mnist-predict', ['--weights', at('model.json'), join(dir, 'q.png'), join(dir, 'q.input.png'), '--save-input', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'q.input.png')).equals(png)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['q-2.input.png', 'q.input.input.png', 'q.input.png', 'q.png']);
  });
});
