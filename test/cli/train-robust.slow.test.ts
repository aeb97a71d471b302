// mnist-train that never loses work, spawned as a user runs it (the slow half, npm run test:all):
// resume is bit-identical to an uninterrupted run, Ctrl-C saves a checkpoint and exits 130, kill -9
// never leaves a broken file. The fast half is train-robust.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { runBin, startBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-robust-'));
const at = (name: string) => join(tmp, name);

const start = (args: string[]) => startBin('mnist-train', args);

/** The --log record written after `batch` batches of `epoch` (with --log-every, tests act at a chosen batch, not after a guessed delay). */
const batchRecord = (epoch: number, batch: number) => new RegExp(`"type":"batch",[^\n]*"epoch":${epoch},"batch":${batch},`);
const load = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** The arrays that decide the next step: parameters, optimizer buffers, RNG states, schedule. */
function trainingState(p: string) {
  const w = load(p);
  return { state: w.state, optimizer: w.resume.optimizer, rng: w.resume.rng, scheduler: w.resume.scheduler, losses: w.metrics.map((m: { trainLoss: number }) => m.trainLoss) };
}

describe('resume is bit-identical to an uninterrupted run', () => {
  const SMALL = ['--limit', '2000', '--test-limit', '500', '--hidden', '32', '--seed', '3', '--scheduler', 'step', '--step-size', '1', '--gamma', '0.7'];

  it('2 epochs, then --resume --epochs 4, equals 4 epochs straight (adam, step schedule)', () => {
    const straight = runBin('mnist-train', [...SMALL, '--epochs', '4', '--out', at('straight.json'), '--quiet']);
    expect(straight.code).toBe(0);
    const first = runBin('mnist-train', [...SMALL, '--epochs', '2', '--out', at('part.json'), '--quiet']);
    expect(first.code).toBe(0);
    expect(load(at('part.json')).resume).toMatchObject({ epoch: 2, epochs: 2 });
    const rest = runBin('mnist-train', ['--resume', at('part.json'), '--epochs', '4']);
    expect(rest.stderr).toBe('');
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain(`resuming ${at('part.json')} at the end of epoch 2`);
    expect(rest.stdout.match(/^epoch \d\/4 /gm)).toEqual(['epoch 3/4 ', 'epoch 4/4 ']);
    const a = trainingState(at('straight.json')), b = trainingState(at('part.json'));
    expect(b.losses).toHaveLength(4);
    expect(b).toEqual(a);
    // the chart covers the whole run, resumed epochs included
    expect(rest.stdout).toMatch(/^history, epochs 1\.\.4:$/m);
  });

  it('resume stays bit-identical on 2 threads with dropout (the workers\' masks are reseeded every step)', () => {
    const args = ['--limit', '1500', '--test-limit', '200', '--arch', 'flatten linear(24) relu dropout(0.3) linear(10)', '--threads', '2', '--seed', '5'];
    expect(runBin('mnist-train', [...args, '--epochs', '3', '--out', at('d-straight.json'), '--quiet']).code).toBe(0);
    expect(runBin('mnist-train', [...args, '--epochs', '1', '--out', at('d-part.json'), '--quiet']).code).toBe(0);
    const rest = runBin('mnist-train', ['--resume', at('d-part.json'), '--epochs', '3', '--quiet']);
    expect(rest.stderr).toBe('');
    expect(trainingState(at('d-part.json'))).toEqual(trainingState(at('d-straight.json')));
    expect(load(at('d-part.json')).training.threads).toBe(2);
    // typing another thread count is allowed, with a warning that exactness is lost
    const other = runBin('mnist-train', ['--resume', at('d-straight.json'), '--epochs', '4', '--threads', '1', '--quiet']);
    expect(other.code).toBe(0);
    expect(other.stderr).toMatch(/^warning: training on 1 thread where .*d-straight\.json used 2: the result will not be bit-identical/m);
  });

  it('Ctrl-C mid-epoch saves a checkpoint and exits 130; a bare --resume finishes bit-identical (sgd, the per-batch default schedule)', async () => {
    const BIG = ['--limit', '6000', '--test-limit', '300', '--hidden', '32', '--batch-size', '32', '--optimizer', 'sgd', '--epochs', '3', '--seed', '4'];
    const straight = runBin('mnist-train', [...BIG, '--out', at('c-straight.json'), '--quiet']);
    expect(straight.code).toBe(0);

    // Ctrl-C once the batch log says 40 batches of epoch 2 are done
    const run = start([...BIG, '--out', at('c-int.json'), '--log', at('c-int.jsonl'), '--log-every', '20']);
    await run.waitForFile(at('c-int.jsonl'), batchRecord(2, 40));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    // the signal lands mid-epoch, after batch 40 of epoch 2 (a loaded machine may be further on)
    const m = /^interrupted at epoch ([23]), batch (\d+)\/188; resume with: (?:npx )?mnist-train --resume (\S+) /m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    if (m![1] === '2') expect(Number(m![2])).toBeGreaterThanOrEqual(40);
    expect(m![3]).toBe(at('c-int.json'));
    expect(r.stderr).toMatch(/stopping after this batch/);
    const saved = readWeightsFile(at('c-int.json')).file;
    const finished = Number(m![1]) - 1;
    expect(saved.resume).toMatchObject({ epoch: finished, epochs: 3, batches: 188, position: { batchesDone: Number(m![2]) } });
    expect(saved.metrics).toHaveLength(finished);

    const rest = runBin('mnist-train', ['--resume', at('c-int.json'), '--quiet']);
    expect(rest.code).toBe(0);
    expect(trainingState(at('c-int.json'))).toEqual(trainingState(at('c-straight.json')));
  });

  it('warns that a cosine schedule keeps its tMax when --epochs grows on resume', () => {
    const args = ['--limit', '500', '--test-limit', '100', '--hidden', '8', '--scheduler', 'cosine'];
    expect(runBin('mnist-train', [...args, '--epochs', '1', '--out', at('cos.json'), '--quiet']).code).toBe(0);
    const r = runBin('mnist-train', ['--resume', at('cos.json'), '--epochs', '2', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: the cosine schedule keeps tMax 1 from .*cos\.json; past epoch 1 the lr rises again$/m);
    expect(load(at('cos.json')).training.tMax).toBe(1);
  });
});

describe('signals and kills', () => {
  it('a second Ctrl-C (or SIGTERM) exits 130 at once, leaving any file complete', async () => {
    const out = at('twice.json');
    const run = start(['--limit', '6000', '--test-limit', '300', '--hidden', '32', '--batch-size', '16', '--epochs', '3', '--out', out]);
    await run.waitFor(/^epoch 1\/3 /m);
    run.child.kill('SIGTERM');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    readWeightsFile(out);
  });

  it('kill -9 at chosen moments never leaves a weights file that fails to load', async () => {
    const out = at('killed.json');
    // epochs of 600 images (10 batches) take a fraction of a second and end with a weights file
    // write: kill right after a save, mid-epoch, and after an epoch's last batch (as it starts
    // the evaluation and the write); the moments are picked by the child's own output
    const moments: [RegExp, number][] = [
      [/^epoch 1\/500 /m, 1],
      [batchRecord(2, 5), 1],
      [batchRecord(3, 10), 2],
      [/^epoch 4\/500 /m, 4],
      [batchRecord(6, 10), 5],
    ];
    for (const [i, [moment, savedAtLeast]] of moments.entries()) {
      const log = at(`killed-${i}.jsonl`);
      const run = start(['--limit', '600', '--test-limit', '100', '--hidden', '16', '--epochs', '500', '--out', out, '--seed', String(i),
        '--log', log, '--log-every', '5']);
      await (moment.source.includes('batch') ? run.waitForFile(log, moment) : run.waitFor(moment));
      run.child.kill('SIGKILL');
      const r = await run.done;
      expect(r.code).toBeNull();
      const { file } = readWeightsFile(out);
      expect(file.resume!.epoch).toBe(file.metrics.length);
      expect(file.resume!.epoch).toBeGreaterThanOrEqual(savedAtLeast);
      expect(file.training.seed).toBe(i);
    }
  }, 120_000);
});
