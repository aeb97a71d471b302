// mnist-train that never loses work, spawned as a user runs it (the fast half): divergence keeps the
// last good weights, metrics logs and --json, one-line usage errors. Resume, Ctrl-C and kill -9
// loops are in train-robust.slow.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runBin } from './helpers.ts';
import { expectUsageError, usageCases } from './train-usage.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-robust-'));
const at = (name: string) => join(tmp, name);
const load = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

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

describe('bad command lines: one line, exit 1, before training (all of them: train-usage.slow.test.ts)', () => {
  // a file that is not there, a system path, a flag out of range: one of each kind of check
  const all = usageCases(tmp);
  const cases = ['--resume', '--out', '--epochs'].map((flag) => all.find(([args]) => args[0] === flag)!);
  it('covers three kinds of check', () => expect(cases).toHaveLength(3));
  it.concurrent.each(cases)('%j', expectUsageError);
});
