// mnist-train: fetch the data, build a model from flags, train it with progress output, and
// write the weights file atomically after every epoch.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import { Batcher, subset } from '../data/batches.ts';
import { cnnSpecs, formatArch, parseArch } from '../nn/arch.ts';
import { buildModel, mlpSpecs } from '../nn/models.ts';
import type { LayerSpec } from '../nn/module.ts';
import { manualSeed } from '../nn/init.ts';
import { formatSummary, summarize } from '../nn/summary.ts';
import { CosineAnnealingLR, StepLR, type LRScheduler } from '../optim/schedule.ts';
import { Adam, AdamW } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { SGD } from '../optim/sgd.ts';
import { FORMAT, VERSION, serializeWeights, stateDict, type EpochRecord, type WeightsFile } from '../train/checkpoint.ts';
import { fit } from '../train/train.ts';
import { loadDatasetForCli } from './data.ts';
import { runCommand } from './errors.ts';
import { writeFileAtomic } from './files.ts';
import { int, makeUi, pct } from './ui.ts';

export class UsageError extends MnistError {}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}
function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a non-negative integer.');
  return n;
}
function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number greater than 0.');
  return n;
}
function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0.');
  return n;
}
function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a number in [0, 1).');
  return n;
}
function widthList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) throw new InvalidArgumentError('must be a comma list of positive integers, e.g. 256 or 512,256.');
  return parts.map(Number);
}

export interface TrainOptions {
  model: 'mlp' | 'cnn';
  arch?: string;
  hidden: number[];
  summary?: boolean;
  scheduler: 'none' | 'step' | 'cosine';
  stepSize: number;
  gamma: number;
  weightDecay: number;
  nesterov?: boolean;
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer: 'adam' | 'adamw' | 'sgd';
  momentum: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  dataset: 'mnist' | 'fashion-mnist';
  dataDir?: string;
  out: string;
  quiet?: boolean;
}

export function trainProgram(): Command {
  return new Command('mnist-train')
    .description('Train a digit classifier on MNIST (or Fashion-MNIST) and save its weights as JSON.')
    .addOption(new Option('--model <name>', 'model preset').choices(['mlp', 'cnn']).default('mlp'))
    .option('--arch <spec>', 'any sequential model, e.g. "conv(16,3,padding=1) relu maxpool(2) flatten linear(10)" (overrides --model)')
    .option('--hidden <widths>', 'MLP hidden layer widths, comma-separated', widthList, [256])
    .option('--summary', 'print the model summary table and exit')
    .option('--epochs <n>', 'number of passes over the training set', positiveInt, 5)
    .option('--batch-size <n>', 'samples per optimisation step', positiveInt, 64)
    .option('--lr <rate>', 'learning rate (default: 0.001 for adam/adamw, 0.01 for sgd)', positiveNumber)
    .addOption(new Option('--optimizer <name>', 'optimiser').choices(['adam', 'adamw', 'sgd']).default('adam'))
    .option('--momentum <m>', 'SGD momentum', fraction, 0.9)
    .option('--nesterov', 'Nesterov momentum (SGD)')
    .option('--weight-decay <w>', 'L2 penalty (decoupled for adamw; default 0, or 0.01 for adamw)', nonNegativeNumber)
    .addOption(new Option('--scheduler <name>', 'learning-rate schedule per epoch').choices(['none', 'step', 'cosine']).default('none'))
    .option('--step-size <n>', 'epochs between lr drops (--scheduler step)', positiveInt, 2)
    .option('--gamma <g>', 'lr factor at each drop (--scheduler step)', positiveNumber, 0.5)
    .option('--seed <n>', 'random seed for initialisation and shuffling', nonNegativeInt, 1)
    .option('--limit <n>', 'use only the first N training images', positiveInt)
    .option('--test-limit <n>', 'use only the first N test images', positiveInt)
    .addOption(new Option('--dataset <name>', 'dataset').choices(['mnist', 'fashion-mnist']).default('mnist'))
    .option('--data-dir <dir>', 'where the IDX files are cached (default: ./data/<dataset>, or $MNIST_DATA_DIR)')
    .option('--out <file>', 'weights file to write after every epoch', 'weights.json')
    .option('--quiet', 'print only the final result')
    .showHelpAfterError('(run mnist-train --help for usage)');
}

function checkWritable(out: string): void {
  const path = resolve(out);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--out ${out}: is a directory, expected a file path`);
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UsageError(`--out ${out}: directory ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--out ${out}: directory ${dir} is not writable`);
  }
}

/** The layer specs the flags ask for: --arch, else the --model preset. */
export function modelSpecs(opts: Pick<TrainOptions, 'model' | 'arch' | 'hidden'>, inputShape = [1, 28, 28], classes = 10): { name: string; specs: LayerSpec[] } {
  if (opts.arch !== undefined) return { name: 'arch', specs: parseArch(opts.arch, inputShape, classes) };
  if (opts.model === 'cnn') return { name: 'cnn', specs: cnnSpecs() };
  return { name: 'mlp', specs: mlpSpecs(opts.hidden, inputShape.reduce((a, b) => a * b, 1), classes) };
}

export async function train(opts: TrainOptions): Promise<void> {
  const ui = makeUi({ quiet: opts.quiet });
  const { c } = ui;
  const { name: modelName, specs } = modelSpecs(opts);
  manualSeed(opts.seed);
  const model = buildModel(specs);
  const summaryText = formatSummary(summarize(model, [1, 28, 28]));
  if (opts.summary) {
    process.stdout.write(`${summaryText}\n`);
    return;
  }
  checkWritable(opts.out);

  const data = await loadDatasetForCli(ui, opts.dataset, opts.dataDir);
  const trainSplit = subset(data.train, opts.limit);
  const testSplit = subset(data.test, opts.testLimit);
  if (opts.limit || opts.testLimit) ui.line(`using ${int(trainSplit.count)} training and ${int(testSplit.count)} test images`);

  const params = model.parameters();
  const lr = opts.lr ?? (opts.optimizer === 'sgd' ? 0.01 : 1e-3);
  const weightDecay = opts.weightDecay;
  let optimizer: Optimizer;
  if (opts.optimizer === 'sgd') optimizer = new SGD(params, { lr, momentum: opts.momentum, nesterov: opts.nesterov, weightDecay });
  else if (opts.optimizer === 'adamw') optimizer = new AdamW(params, { lr, weightDecay });
  else optimizer = new Adam(params, { lr, weightDecay });
  let scheduler: LRScheduler | undefined;
  if (opts.scheduler === 'step') scheduler = new StepLR(optimizer, { stepSize: opts.stepSize, gamma: opts.gamma });
  else if (opts.scheduler === 'cosine') scheduler = new CosineAnnealingLR(optimizer, { tMax: opts.epochs });

  ui.line(`model ${c.bold(modelName)}: ${formatArch(specs)}`);
  ui.line(summaryText);
  const sched = opts.scheduler === 'none' ? '' : `, ${opts.scheduler} schedule`;
  ui.line(`${opts.optimizer} lr ${lr}${sched}, batch ${opts.batchSize}, ${opts.epochs} epochs, seed ${opts.seed} → ${opts.out}`);

  const norm = { batchSize: opts.batchSize, mean: data.mean, std: data.std };
  const trainBatches = new Batcher(trainSplit, norm);
  const testBatches = new Batcher(testSplit, { ...norm, batchSize: 1000 });
  const rng = new Rng(opts.seed + 1);
  const history: EpochRecord[] = [];
  let bar: ReturnType<typeof ui.bar> | undefined;
  let barEpoch = 0;

  const weights = (): WeightsFile => ({
    format: FORMAT,
    version: VERSION,
    createdAt: new Date().toISOString(),
    model: { name: modelName, arch: formatArch(specs), layers: specs },
    input: { shape: [1, data.train.rows, data.train.cols], mean: data.mean, std: data.std },
    classes: data.classes,
    dataset: data.name,
    training: {
      optimizer: opts.optimizer,
      lr,
      momentum: opts.optimizer === 'sgd' ? opts.momentum : undefined,
      nesterov: opts.optimizer === 'sgd' ? !!opts.nesterov : undefined,
      weightDecay: optimizer instanceof SGD ? optimizer.weightDecay : (optimizer as Adam).weightDecay,
      scheduler: opts.scheduler,
      batchSize: opts.batchSize,
      epochs: opts.epochs,
      seed: opts.seed,
      limit: opts.limit,
      testLimit: opts.testLimit,
    },
    metrics: history,
    state: stateDict(model),
  });

  const result = await fit({
    model,
    optimizer,
    train: trainBatches,
    test: testBatches,
    epochs: opts.epochs,
    rng,
    scheduler,
    classes: data.classes.length,
    onBatch: (p) => {
      if (p.epoch !== barEpoch) {
        bar = ui.bar(p.batches, `epoch ${p.epoch}/${opts.epochs}`);
        barEpoch = p.epoch;
      }
      bar?.update(p.batch, { loss: p.loss, acc: p.accuracy, rate: p.samples / p.seconds });
    },
    onEpochEnd: (m) => {
      bar?.stop();
      history.push(m);
      writeFileAtomic(opts.out, serializeWeights(weights()));
      ui.line(
        `epoch ${m.epoch}/${opts.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}  ` +
          `test loss ${m.testLoss.toFixed(4)} acc ${c.bold(pct(m.testAccuracy))}  ${m.seconds.toFixed(1)}s ${int(m.samplesPerSecond)} samples/s`,
      );
    },
  });
  const last = result.metrics.at(-1);
  if (last) {
    const line = `test accuracy ${pct(last.testAccuracy)} after ${last.epoch} epochs; weights saved to ${opts.out}`;
    if (opts.quiet) process.stdout.write(`${line}\n`);
    else ui.line(c.green(line));
  }
}

export async function main(argv = process.argv): Promise<void> {
  const program = trainProgram();
  program.action(async (o: TrainOptions) => {
    await runCommand(() => train(o));
  });
  await program.parseAsync(argv);
}
