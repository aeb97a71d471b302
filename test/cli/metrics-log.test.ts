import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchWindow, MetricsLog, logFormat, type BatchRecord } from '../../src/cli/metrics-log.ts';

const tmp = mkdtempSync(join(tmpdir(), 'metrics-log-'));
const epoch = { epoch: 1, trainLoss: 0.5, trainAccuracy: 0.8, testLoss: 0.25, testAccuracy: 0.9, seconds: 2, samplesPerSecond: 500, lr: 0.01 };

describe('MetricsLog', () => {
  it('picks the format from the extension', () => {
    expect([logFormat('m.jsonl'), logFormat('M.CSV'), logFormat('m.ndjson'), logFormat('m.json'), logFormat('m')]).toEqual(['jsonl', 'csv', 'jsonl', undefined, undefined]);
  });

  it('writes JSON Lines, one record per line, truncating unless appending', () => {
    const path = join(tmp, 'a.jsonl');
    const log = new MetricsLog(path);
    log.batch({ epoch: 1, batch: 10, batches: 20, loss: 0.7, accuracy: 0.6, lr: 0.01 });
    log.epoch(epoch);
    log.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ type: 'batch', epoch: 1, batch: 10, batches: 20, loss: 0.7, accuracy: 0.6, lr: 0.01 });
    expect(lines[1]).toMatchObject({ type: 'epoch', ...epoch });
    expect(Date.parse(lines[1].time)).not.toBeNaN();
    new MetricsLog(path, { append: true }).epoch({ ...epoch, epoch: 2 });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(3);
    new MetricsLog(path).close();
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('writes CSV with one header, also when appending to an existing log', () => {
    const path = join(tmp, 'a.csv');
    const log = new MetricsLog(path);
    log.epoch(epoch);
    log.close();
    const again = new MetricsLog(path, { append: true });
    again.batch({ epoch: 2, batch: 5, batches: 20, loss: 0.4, accuracy: 0.85, lr: 0.01 });
    again.close();
    const rows = readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['type', 'time', 'epoch', 'batch', 'batches', 'loss', 'accuracy', 'test_loss', 'test_accuracy', 'lr', 'seconds', 'samples_per_second']);
    expect(rows).toHaveLength(3);
    const [, , ...e] = rows[1];
    expect(rows[1][0]).toBe('epoch');
    expect(e).toEqual(['1', '', '', '0.5', '0.8', '0.25', '0.9', '0.01', '2', '500']);
    expect(rows[2].filter((_, i) => i !== 1)).toEqual(['batch', '2', '5', '20', '0.4', '0.85', '', '', '0.01', '', '']);
  });
});

describe('BatchWindow', () => {
  it('averages loss (weighted by batch size) and accuracy over each N batches of an epoch', () => {
    const out: BatchRecord[] = [];
    const w = new BatchWindow(2, (r) => out.push(r));
    const step = (epoch: number, batch: number, loss: number, correct: number, size = 10) => w.step({ epoch, batch, batches: 3, loss, correct, size, lr: 0.1 });
    step(1, 1, 1.0, 5);
    step(1, 2, 0.5, 7, 30);
    step(1, 3, 9, 0); // not a multiple of 2: folded into nothing, reset by the next epoch
    step(2, 1, 0.2, 9);
    step(2, 2, 0.4, 10);
    expect(out).toEqual([
      { epoch: 1, batch: 2, batches: 3, loss: (1.0 * 10 + 0.5 * 30) / 40, accuracy: 12 / 40, lr: 0.1 },
      { epoch: 2, batch: 2, batches: 3, loss: (0.2 * 10 + 0.4 * 10) / 20, accuracy: 19 / 20, lr: 0.1 },
    ]);
  });
});
