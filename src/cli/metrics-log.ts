// --log FILE: training records as JSON Lines (.jsonl) or CSV (.csv), chosen by the extension: one
// per epoch, and with --log-every N one per N batches (the mean loss and accuracy of those N).
// Each record is appended as it happens, so a crash or kill keeps everything logged so far.
import { fstatSync } from 'node:fs';
import { extname } from 'node:path';
import type { EpochRecord } from '../weights/checkpoint.ts';
import { fsReason } from './fs-reason.ts';
import { OutputError, nodeFs, writeAll, type WriteFs } from './safe-write.ts';

export type LogFormat = 'jsonl' | 'csv';

/** The format for a --log path, or undefined for an extension we do not write. */
export function logFormat(path: string): LogFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined;
}

export interface BatchRecord {
  epoch: number;
  batch: number;
  batches: number;
  /** Mean loss and accuracy over the batches since the previous batch record of the epoch. */
  loss: number;
  accuracy: number;
  lr: number;
}

const CSV_COLUMNS = ['type', 'time', 'epoch', 'batch', 'batches', 'loss', 'accuracy', 'test_loss', 'test_accuracy', 'lr', 'seconds', 'samples_per_second'];

export class MetricsLog {
  readonly format: LogFormat;
  private fd: number;
  private readonly fs: WriteFs;

  /** Opens (creating or, unless `append`, truncating) the log; throws an OutputError naming it if it cannot. */
  constructor(readonly path: string, opts: { append?: boolean; fs?: WriteFs } = {}) {
    this.format = logFormat(path) ?? 'jsonl';
    this.fs = opts.fs ?? nodeFs;
    try {
      this.fd = this.fs.openSync(path, opts.append ? 'a' : 'w');
    } catch (err) {
      throw this.failure(err);
    }
    if (this.format === 'csv' && fstatSync(this.fd).size === 0) this.write(CSV_COLUMNS.join(','));
  }

  epoch(m: EpochRecord): void {
    const time = new Date().toISOString();
    if (this.format === 'jsonl') {
      this.write(JSON.stringify({ type: 'epoch', time, ...m }));
    } else {
      this.csv(['epoch', time, m.epoch, '', '', m.trainLoss, m.trainAccuracy, m.testLoss, m.testAccuracy, m.lr, m.seconds, m.samplesPerSecond]);
    }
  }

  batch(r: BatchRecord): void {
    const time = new Date().toISOString();
    if (this.format === 'jsonl') this.write(JSON.stringify({ type: 'batch', time, ...r }));
    else this.csv(['batch', time, r.epoch, r.batch, r.batches, r.loss, r.accuracy, '', '', r.lr, '', '']);
  }

  close(): void {
    if (this.fd >= 0) this.fs.closeSync(this.fd);
    this.fd = -1;
  }

  private csv(cells: (string | number)[]): void {
    this.write(cells.map(String).join(','));
  }

  /** A whole line or an error naming the log: a full disk mid-run says which file it could not write. */
  private write(line: string): void {
    try {
      writeAll(this.fs, this.fd, Buffer.from(`${line}\n`));
    } catch (err) {
      throw this.failure(err);
    }
  }

  private failure(err: unknown): unknown {
    const reason = fsReason(err);
    return reason ? new OutputError(`--log ${this.path}: cannot write it: ${reason}`, 'the records logged so far are kept; the weights file is written separately') : err;
  }
}

/** Averages the per-batch steps into one record every `every` batches of an epoch. */
export class BatchWindow {
  private epoch = 0;
  private lossSum = 0;
  private correct = 0;
  private samples = 0;

  constructor(private readonly every: number, private readonly emit: (r: BatchRecord) => void) {}

  step(s: { epoch: number; batch: number; batches: number; loss: number; correct: number; size: number; lr: number }): void {
    if (s.epoch !== this.epoch) {
      this.epoch = s.epoch;
      this.lossSum = this.correct = this.samples = 0;
    }
    this.lossSum += s.loss * s.size;
    this.correct += s.correct;
    this.samples += s.size;
    if (s.batch % this.every === 0) {
      this.emit({ epoch: s.epoch, batch: s.batch, batches: s.batches, loss: this.lossSum / this.samples, accuracy: this.correct / this.samples, lr: s.lr });
      this.lossSum = this.correct = this.samples = 0;
    }
  }
}
