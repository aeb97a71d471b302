// mnist-train that never loses work, spawned as a user runs it: resume is bit-identical to an
// uninterrupted run, Ctrl-C saves a checkpoint and exits 130, kill -9 never leaves a broken file,
// divergence keeps the last good weights, metrics logs and --json, and one-line usage errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { ROOT, expectOneLineError, runBin, type Run } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-robust-'));
const at = (name: string) => join(tmp, name);

interface Child {
  child: ChildProcess;
  done: Promise<Run>;
  /** Resolves when stdout or stderr so far matches. */
  waitFor(re: RegExp): Promise<void>;
}

function start(args: string[]): Child {
  const child = spawn(process.execPath, [`${ROOT}bin/mnist-train.mjs`, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '', stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(stdout) || w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => ((stdout += d), check()));
  child.stderr!.on('data', (d) => ((stderr += d), check()));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    done,
    waitFor: (re) => new Promise<void>((resolve, reject) => {
      waiters.push({ re, resolve });
      check();
      void done.then(() => reject(new Error(`exited before ${re}:\n${stdout}\n${stderr}`)));
    }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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

  it('Ctrl-C mid-epoch saves a checkpoint and exits 130; a bare --resume finishes bit-identical (sgd, the per-batch default schedule)', async () => {
    const BIG = ['--limit', '6000', '--test-limit', '300', '--hidden', '32', '--batch-size', '32', '--optimizer', 'sgd', '--epochs', '3', '--seed', '4'];
    const straight = runBin('mnist-train', [...BIG, '--out', at('c-straight.json'), '--quiet']);
    expect(straight.code).toBe(0);

    const run = start([...BIG, '--out', at('c-int.json')]);
    await run.waitFor(/^epoch 1\/3 /m);
    await sleep(150);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    // a loaded machine may run a whole epoch in those 150 ms: any epoch after the first will do
    const m = /^interrupted at epoch ([23]), batch (\d+)\/188; resume with: mnist-train --resume (\S+)$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
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

  it('kill -9 at random moments never leaves a weights file that fails to load', async () => {
    const out = at('killed.json');
    let seen = 0;
    for (let i = 0; i < 5; i++) {
      // epochs of 600 images take a fraction of a second: a weights file is being written most of the time
      const run = start(['--limit', '600', '--test-limit', '100', '--hidden', '16', '--epochs', '500', '--out', out, '--seed', String(i)]);
      await run.waitFor(/^epoch 1\/500 /m);
      await sleep(Math.random() * 2000);
      run.child.kill('SIGKILL');
      const r = await run.done;
      expect(r.code).toBeNull();
      const { file } = readWeightsFile(out);
      expect(file.resume!.epoch).toBe(file.metrics.length);
      expect(file.training.seed).toBe(i);
    }
  }, 120_000);
});

describe('divergence', () => {
  it('stops at once naming epoch and batch, suggests a lower lr, and leaves the existing weights file untouched', () => {
    const out = at('diverge.json');
    expect(runBin('mnist-train', ['--limit', '1000', '--test-limit', '100', '--hidden', '16', '--epochs', '1', '--optimizer', 'sgd', '--out', out, '--quiet']).code).toBe(0);
    const before = readFileSync(out, 'utf8');
    const r = runBin('mnist-train', ['--limit', '1000', '--test-limit', '100', '--hidden', '16', '--epochs', '2', '--optimizer', 'sgd', '--lr', '1e6', '--out', out]);
    expectOneLineError(r, /^error: training diverged: loss is (NaN|Infinity) at epoch 1, batch \d+; hint: /);
    expect(r.stderr).toMatch(/; hint: lower the learning rate \(it is 1000000; try --lr 100000\); no weights file was written by this run$/m);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });
});

describe('metrics logs and --json', () => {
  const args = ['--limit', '1000', '--test-limit', '200', '--hidden', '16', '--epochs', '2'];

  it('--log .jsonl writes epoch records and, with --log-every, batch records', () => {
    const log = at('m.jsonl');
    const r = runBin('mnist-train', [...args, '--out', at('log.json'), '--log', log, '--log-every', '5']);
    expect(r.code).toBe(0);
    const recs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const epochs = recs.filter((x) => x.type === 'epoch'), batches = recs.filter((x) => x.type === 'batch');
    expect(epochs.map((x) => x.epoch)).toEqual([1, 2]);
    expect(epochs).toEqual(load(at('log.json')).metrics.map((m: object) => expect.objectContaining(m)));
    // 16 batches an epoch: records at 5, 10, 15
    expect(batches.map((x) => `${x.epoch}.${x.batch}`)).toEqual(['1.5', '1.10', '1.15', '2.5', '2.10', '2.15']);
    expect(batches.every((x) => x.loss > 0 && x.accuracy >= 0 && x.accuracy <= 1 && x.batches === 16)).toBe(true);
    // the final chart: four sparkline rows
    expect(r.stdout).toMatch(/^  loss   train [▁▂▃▄▅▆▇█]{2}  /m);
    expect(r.stdout).toMatch(/^         test  [▁▂▃▄▅▆▇█]{2}  \d+\.\d+% → \d+\.\d+%  \(best/m);
  });

  it('--log .csv writes a header and one row per epoch', () => {
    const log = at('m.csv');
    expect(runBin('mnist-train', [...args, '--out', at('csv.json'), '--log', log, '--quiet']).code).toBe(0);
    const rows = readFileSync(log, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('type,time,epoch,batch,batches,loss,accuracy,test_loss,test_accuracy,lr,seconds,samples_per_second');
    expect(rows.slice(1).map((l) => l.split(',')[0])).toEqual(['epoch', 'epoch']);
  });

  it('--json prints one JSON document on stdout and the human output on stderr', () => {
    const r = runBin('mnist-train', [...args, '--out', at('json.json'), '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(summary).toMatchObject({ status: 'completed', out: at('json.json'), epochs: 2, model: { name: 'mlp', params: 784 * 16 + 16 + 16 * 10 + 10 } });
    expect(summary.metrics).toHaveLength(2);
    expect(summary.final).toEqual(summary.metrics[1]);
    expect(r.stderr).toMatch(/^epoch 2\/2 /m);
  });
});

describe('bad command lines: one line, exit 1, before training', () => {
  mkdirSync(at('dir.jsonl'));
  writeFileSync(at('plain.json'), '{"format": "mnist-ts-weights", "version": 1}');
  const cases: [string[], RegExp][] = [
    [['--resume', at('missing.json')], /^error: .*missing\.json: no such file/],
    [['--resume', tmp], /^error: .*: is a directory, expected a weights file/],
    [['--resume', at('plain.json')], /^error: .*plain\.json: model: expected an object, found nothing/],
    [['--out', '/proc/w.json'], /^error: --out \/proc\/w\.json: cannot create files in \/proc/],
    [['--log', at('m.txt')], /^error: --log .*m\.txt: expected a file name ending in \.jsonl or \.csv/],
    [['--log', at('dir.jsonl')], /^error: --log .*dir\.jsonl: is a directory, expected a file path/],
    [['--log-every', '5'], /^error: --log-every needs --log FILE/],
    [['--data-dir', at('plain.json')], /^error: --data-dir .*plain\.json: is a file, expected a directory/],
    [['--log-every', '0', '--log', at('x.jsonl')], /^error: option '--log-every <n>' argument '0' is invalid/],
    [['--epochs', '-3'], /^error: option '--epochs <n>' argument '-3' is invalid/],
    [['--lr', 'abc'], /--lr/],
    [['--resume'], /^error: option '--resume <file>' argument missing/],
  ];
  it.concurrent.each(cases)('%j', async (args, pattern) => {
    const r = await new Promise<Run>((resolve) => {
      const c = start(['--limit', '100', ...args]);
      void c.done.then(resolve);
    });
    expectOneLineError(r, pattern);
    expect(r.stdout).not.toMatch(/^epoch/m);
  });

  describe('with a weights file to resume', () => {
    const base = at('base.json');
    it('is made by a one-epoch run', () => {
      expect(runBin('mnist-train', ['--limit', '300', '--test-limit', '100', '--hidden', '8', '--epochs', '1', '--lr', '0.002', '--out', base, '--quiet']).code).toBe(0);
    });
    it.concurrent.each<[string[], RegExp]>([
      [['--lr', '0.1'], /^error: --lr 0\.1 conflicts with --resume .*base\.json, which was trained with --lr 0\.002/],
      [['--optimizer', 'sgd'], /^error: --optimizer sgd conflicts with --resume .*, which was trained with --optimizer adam/],
      [['--limit', '100'], /^error: --limit 100 conflicts with --resume .*, which was trained with --limit 300/],
      [['--hidden', '64'], /^error: the model flags describe "flatten linear\(64\) relu linear\(10\)", but --resume .* holds "flatten linear\(8\) relu linear\(10\)"/],
      [['--epochs', '1'], /^error: --epochs 1: --resume .*base\.json has already completed 1 epoch/],
      [[], /^error: --resume .*base\.json: training already finished \(1\/1 epochs\)/],
    ])('refuses --resume with %j', async (args, pattern) => {
      const r = await start(['--resume', base, ...args]).done;
      expectOneLineError(r, pattern);
    });
  });
});
