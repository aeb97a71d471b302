// mnist-train that never loses work, spawned as a user runs it (the fast half): divergence keeps the
// last good weights, metrics logs and --json, one-line usage errors. Resume, Ctrl-C and kill -9
// loops are in train-robust.slow.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runBin, startBin, type Run } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-robust-'));
const at = (name: string) => join(tmp, name);
const load = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const start = (args: string[]) => startBin('mnist-train', args);

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
    [['--out', '/proc/w.json'], /^error: --out \/proc\/w\.json: a system path \(\/proc\/w\.json\); mnist-ts writes only files of your own/],
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
    it('is made by a one-epoch run (with augmentation, which the file records)', () => {
      expect(runBin('mnist-train', ['--limit', '300', '--test-limit', '100', '--hidden', '8', '--epochs', '1', '--lr', '0.002', '--augment', 'shift', '--out', base, '--quiet']).code).toBe(0);
      expect(JSON.parse(readFileSync(base, 'utf8')).training.augment).toBe('shift');
    });
    it.concurrent.each<[string[], RegExp]>([
      [['--lr', '0.1'], /^error: --lr 0\.1 conflicts with --resume .*base\.json, which was trained with --lr 0\.002/],
      [['--optimizer', 'sgd'], /^error: --optimizer sgd conflicts with --resume .*, which was trained with --optimizer adam/],
      [['--limit', '100'], /^error: --limit 100 conflicts with --resume .*, which was trained with --limit 300/],
      [['--hidden', '64'], /^error: the model flags describe "flatten linear\(64\) relu linear\(10\)", but --resume .* holds "flatten linear\(8\) relu linear\(10\)"/],
      [['--epochs', '1'], /^error: --epochs 1: --resume .*base\.json has already completed 1 epoch/],
      [['--augment', 'none', '--epochs', '2'], /^error: --augment none conflicts with --resume .*, which was trained with --augment shift/],
      [[], /^error: --resume .*base\.json: training already finished \(1\/1 epochs\)/],
    ])('refuses --resume with %j', async (args, pattern) => {
      const r = await start(['--resume', base, ...args]).done;
      expectOneLineError(r, pattern);
    });
  });
});
