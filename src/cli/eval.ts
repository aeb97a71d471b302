// mnist-eval: load a weights file, run a split of its dataset through the model and report
// accuracy, loss, speed, the confusion matrix, per-class precision/recall/F1 and the worst pairs.
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { Batcher, subset } from '../data/batches.ts';
import { encodeGreyPng } from '../data/image-io.ts';
import { parameterCount } from '../nn/models.ts';
import { DATASETS, type DatasetName, type Split } from '../data/sources.ts';
import type { WeightsFile } from '../weights/checkpoint.ts';
import { evaluate, type Evaluation } from '../train/evaluate.ts';
import { classMetrics, confusedPairs, macroAverage, type ClassMetrics, type ConfusedPair } from '../train/metrics.ts';
import { loadDatasetForCli } from './data.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { belowMinimum, percentage, positiveInt } from './flags.ts';
import { claimOutputs, writeFileSafe, type OutputSpec } from './safe-write.ts';
import { contactSheet, scaleNearest } from '../report/contact-sheet.ts';
import { trainingReportHtml } from '../report/report-page.ts';
import { backendOption, selectBackend } from './backend-flag.ts';
import type { Backend } from '../engine/backend.ts';
import { int, makeUi, pct, type Ui } from './ui.ts';
import { readWeightsFile } from './weights-file.ts';

export class EvalUsageError extends MnistError {}

export interface EvalOptions {
  /** Kernels (default: wasm where it runs). */
  backend?: Backend;
  split: 'train' | 'test';
  limit?: number;
  dataset?: DatasetName;
  dataDir?: string;
  batchSize: number;
  errors?: string;
  report?: string;
  json?: boolean;
  pairs: number;
  /** Percent: exit 1 when the accuracy is lower (a CI smoke test). */
  minAccuracy?: number;
}

export function evalProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-eval'))
    .description('Evaluate a trained model on the MNIST (or Fashion-MNIST) test set: accuracy, confusion matrix, per-class metrics.')
    .argument('[weights]', 'weights file written by mnist-train', 'weights.json')
    .addOption(new Option('--split <name>', 'which split to evaluate').choices(['train', 'test']).default('test'))
    .option('--limit <n>', 'use only the first N images of the split', positiveInt)
    .addOption(new Option('--dataset <name>', 'dataset (default: the one the weights file was trained on)').choices(Object.keys(DATASETS)))
    .option('--data-dir <dir>', 'where the IDX files are cached (default: ./data/<dataset>, or $MNIST_DATA_DIR)')
    .option('--batch-size <n>', 'images per forward pass', positiveInt, 1000)
    .option('--pairs <n>', 'how many of the most confused pairs to list', positiveInt, 5)
    .option('--errors <dir>', 'write every misclassified image there as a PNG, plus a contact sheet')
    .option('--report <file>', 'write an HTML report: training curves from the weights file, confusion matrix, misclassified digits')
    .addOption(backendOption())
    .option('--json', 'print the results as one JSON document on stdout')
    .option('--min-accuracy <percent>', 'exit 1 when the accuracy is below this, e.g. 90: a CI smoke test', percentage);
}

export interface EvalReport {
  weights: string;
  model: { name: string; arch?: string };
  dataset: string;
  split: 'train' | 'test';
  count: number;
  accuracy: number;
  loss: number;
  seconds: number;
  samplesPerSecond: number;
  /** What the trainer printed for this file's last epoch, when it measured the same images. */
  trainer?: { epoch: number; testAccuracy: number; matches: boolean };
  classes: string[];
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: (ClassMetrics & { name: string })[];
  macro: { precision: number; recall: number; f1: number };
  confusedPairs: ConfusedPair[];
  errors?: { dir: string; written: number; sheet: string; sheetCount: number };
  /** The HTML report written with --report. */
  reportFile?: string;
}

function datasetOf(file: WeightsFile, flag: DatasetName | undefined, path: string): DatasetName {
  if (flag) return flag;
  const name = file.dataset;
  if (typeof name === 'string' && name in DATASETS) return name as DatasetName;
  throw new EvalUsageError(`${path}: the weights file names dataset ${JSON.stringify(name)}, which mnist-eval does not know`, `pass --dataset ${Object.keys(DATASETS).join('|')}`);
}

/** The trainer's last reported accuracy, when it was measured on the images evaluated now. */
function trainerRecord(file: WeightsFile, opts: EvalOptions, dataset: DatasetName, count: number, total: number): { epoch: number; testAccuracy: number } | undefined {
  const last = file.metrics?.at(-1);
  if (!last || opts.split !== 'test' || dataset !== file.dataset) return undefined;
  const testLimit = typeof file.training?.testLimit === 'number' ? Math.min(file.training.testLimit, total) : total;
  return testLimit === count ? { epoch: last.epoch, testAccuracy: last.testAccuracy } : undefined;
}

export async function runEval(path: string, opts: EvalOptions): Promise<EvalReport> {
  const ui = makeUi({ json: opts.json });
  selectBackend(opts.backend, ui);
  // every output checked (and --errors created) before the weights are read and the work starts
  const outputs: OutputSpec[] = [];
  if (opts.report !== undefined) outputs.push({ flag: '--report', path: opts.report });
  if (opts.errors !== undefined) outputs.push({ flag: '--errors', path: opts.errors, kind: 'dir' });
  const claim = claimOutputs(outputs, [{ what: 'the weights file', path }]);
  try {
    return await evalClaimed(path, opts, ui);
  } finally {
    claim.release();
  }
}

async function evalClaimed(path: string, opts: EvalOptions, ui: Ui): Promise<EvalReport> {
  const { file, model } = readWeightsFile(path);
  const dataset = datasetOf(file, opts.dataset, path);
  if (opts.dataset !== undefined && file.dataset !== opts.dataset) {
    ui.warn(`${path} was trained on ${file.dataset || 'an unnamed dataset'}, evaluating it on ${opts.dataset}: the numbers say little about the model`);
  }
  const shape = file.input.shape;
  const data = await loadDatasetForCli(ui, dataset, opts.dataDir);
  const full = opts.split === 'train' ? data.train : data.test;
  if (shape.length !== 3 || shape[0] !== 1 || shape[1] !== full.rows || shape[2] !== full.cols) {
    throw new EvalUsageError(`${path}: the model takes input ${JSON.stringify(shape)}, but ${dataset} images are [1, ${full.rows}, ${full.cols}]`);
  }
  const classes = file.classes.length;
  if (classes !== data.classes.length) {
    throw new EvalUsageError(`${path}: the model has ${classes} classes, ${dataset} has ${data.classes.length}`, 'pass the --dataset the model was trained on');
  }
  const split = subset(full, opts.limit);
  // the trainer evaluates with the file's normalization in batches of 1000: same numbers, same order
  const source = new Batcher(split, { batchSize: opts.batchSize, mean: file.input.mean, std: file.input.std });
  const spin = ui.spin(`evaluating ${int(split.count)} ${opts.split} images`);
  let ev: Evaluation;
  try {
    ev = evaluate(model, source, classes);
  } finally {
    spin.stop();
  }
  const per = classMetrics(ev.confusion, classes);
  const record = trainerRecord(file, opts, dataset, split.count, full.count);
  const report: EvalReport = {
    weights: path,
    model: { name: file.model.name, arch: file.model.arch },
    dataset,
    split: opts.split,
    count: ev.count,
    accuracy: ev.accuracy,
    loss: ev.loss,
    seconds: ev.seconds,
    samplesPerSecond: ev.seconds > 0 ? ev.count / ev.seconds : 0,
    trainer: record && { ...record, matches: pct(record.testAccuracy) === pct(ev.accuracy) },
    classes: file.classes,
    confusion: Array.from({ length: classes }, (_, t) => Array.from(ev.confusion.subarray(t * classes, (t + 1) * classes))),
    perClass: per.map((m) => ({ ...m, name: file.classes[m.index] })),
    macro: macroAverage(per),
    confusedPairs: confusedPairs(ev.confusion, classes, opts.pairs),
  };
  if (opts.errors !== undefined) report.errors = writeErrors(opts.errors, split, ev.predictions, file.classes);
  if (opts.report !== undefined) {
    writeFileSafe(opts.report, trainingReportHtml({
      command: 'mnist-eval',
      modelLabel: `${file.model.name}${file.model.arch ? `: ${file.model.arch}` : ''} · ${int(parameterCount(model))} parameters`,
      facts: [['weights', path], ['dataset', dataset]],
      classes: file.classes,
      epochs: file.metrics ?? [],
      evaluation: ev,
      split,
      splitLabel: opts.split,
    }), { label: `--report ${opts.report}` });
    report.reportFile = opts.report;
  }
  return report;
}

export async function evalCommand(path: string, opts: EvalOptions): Promise<void> {
  const report = await runEval(path, opts);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else render(report, makeUi());
  const short = belowMinimum(report.accuracy, opts.minAccuracy, 'accuracy');
  if (short) throw new EvalUsageError(short);
}

// ---- rendering ----

function pad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function render(r: EvalReport, ui: Ui): void {
  const { c } = ui;
  const n = r.classes.length;
  ui.line(`model ${c.bold(r.model.name)}${r.model.arch ? `: ${r.model.arch}` : ''}`);
  ui.line(`${r.dataset} ${r.split} split: ${int(r.count)} images`);
  ui.line('');
  const correct = `${int(Math.round(r.accuracy * r.count))}/${int(r.count)} correct`;
  let acc = `accuracy   ${c.bold(pct(r.accuracy))}  (${correct})`;
  if (r.trainer) {
    acc += r.trainer.matches
      ? c.green(`  = what the trainer reported after epoch ${r.trainer.epoch}`)
      : c.yellow(`  (the trainer reported ${pct(r.trainer.testAccuracy)} after epoch ${r.trainer.epoch})`);
  }
  ui.line(acc);
  ui.line(`mean loss  ${r.loss.toFixed(4)}`);
  ui.line(`speed      ${int(r.samplesPerSecond)} samples/s (${r.seconds.toFixed(2)} s)`);

  // confusion matrix: rows are the true class, columns the prediction
  const w = Math.max(4, String(Math.max(...r.confusion.flat())).length + 1);
  const labels = r.classes.map((name, i) => (name.length <= 3 ? name : String(i)));
  ui.line('');
  ui.line(`confusion matrix ${c.dim('(rows: true class, columns: predicted)')}`);
  ui.line(`${' '.repeat(5)}${labels.map((l) => pad(l, w)).join('')}`);
  for (let t = 0; t < n; t++) {
    const support = r.perClass[t].support || 1;
    const cells = r.confusion[t].map((v, p) => {
      const s = pad(String(v), w);
      if (p === t) return c.green(s);
      if (v === 0) return c.dim(s);
      return v / support >= 0.01 ? c.red(s) : c.yellow(s);
    });
    ui.line(`${pad(labels[t], 4)} ${cells.join('')}`);
  }
  if (labels.some((l, i) => l !== r.classes[i])) ui.line(c.dim(`classes: ${r.classes.map((name, i) => `${i} ${name}`).join(', ')}`));

  // per-class metrics
  const nameW = Math.max(5, ...r.classes.map((s) => s.length));
  ui.line('');
  ui.line(`${'class'.padEnd(nameW)}  precision  recall      F1  support`);
  const row = (name: string, p: number, rc: number, f: number, s: string) =>
    `${name.padEnd(nameW)}  ${pad(pct(p), 9)}  ${pad(pct(rc), 6)}  ${pad(pct(f), 6)}  ${pad(s, 7)}`;
  for (const m of r.perClass) {
    const line = row(m.name, m.precision, m.recall, m.f1, int(m.support));
    ui.line(m.f1 < r.macro.f1 - 0.01 ? c.yellow(line) : line);
  }
  ui.line(c.bold(row('macro', r.macro.precision, r.macro.recall, r.macro.f1, int(r.count))));

  ui.line('');
  if (r.confusedPairs.length === 0) ui.line('no confusions: every image was classified correctly');
  else {
    ui.line('most confused pairs');
    for (const p of r.confusedPairs) {
      ui.line(`  ${r.classes[p.actual]} → ${r.classes[p.predicted]}  ${pad(int(p.count), 5)} times  ${c.dim(`(${pct(p.rate, 1)} of the ${r.classes[p.actual]}s)`)}`);
    }
  }
  if (r.errors) {
    ui.line('');
    const shown = r.errors.sheetCount < r.errors.written ? ` (the first ${int(r.errors.sheetCount)})` : '';
    ui.line(`wrote ${int(r.errors.written)} misclassified images to ${r.errors.dir}; contact sheet${shown}: ${r.errors.sheet}`);
  }
  if (r.reportFile) {
    ui.line('');
    ui.line(`report written to ${r.reportFile}`);
  }
}

// ---- misclassified images ----

/** Largest number of tiles on the contact sheet (a 40×25 grid of 28×28 images is 1120×~900 px). */
const SHEET_MAX = 1000;

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

function writeErrors(dir: string, split: Split, predictions: Int32Array, classes: string[]): { dir: string; written: number; sheet: string; sheetCount: number } {
  // the directory was created and checked by claimOutputs before the evaluation
  const px = split.rows * split.cols;
  const wrong: number[] = [];
  for (let i = 0; i < split.count; i++) if (predictions[i] !== split.labels[i]) wrong.push(i);
  const digits = String(split.count - 1).length;
  for (const i of wrong) {
    const name = `${String(i).padStart(digits, '0')}-true-${safeName(classes[split.labels[i]])}-pred-${safeName(classes[predictions[i]])}.png`;
    const file = join(dir, name);
    writeFileSafe(file, encodeGreyPng(split.images.subarray(i * px, (i + 1) * px), split.cols, split.rows), { label: `--errors ${file}` });
  }
  const tiles = wrong.slice(0, SHEET_MAX);
  const sheet = contactSheet(tiles.map((i) => ({ image: split.images.subarray(i * px, (i + 1) * px), top: split.labels[i], bottom: predictions[i] })), split.rows, split.cols);
  const sheetPath = join(dir, 'contact-sheet.png');
  const big = scaleNearest(sheet.pixels, sheet.width, sheet.height, 2);
  writeFileSafe(sheetPath, encodeGreyPng(big, sheet.width * 2, sheet.height * 2), { label: `--errors ${sheetPath}` });
  return { dir, written: wrong.length, sheet: sheetPath, sheetCount: tiles.length };
}

export async function main(argv = process.argv): Promise<void> {
  const program = evalProgram();
  program.action(async (path: string, o: EvalOptions) => {
    await runCommand(() => evalCommand(path, o));
  });
  await program.parseAsync(argv);
}
