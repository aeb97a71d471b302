// mnist-train: fetch the data, build a model from flags (or continue a saved run), train it with
// progress output, and write the weights file with its resume state atomically after every epoch.
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Rng } from '../engine/rng.ts';
import { Batcher, subset } from '../data/batches.ts';
import { cnnSpecs, formatArch, parseArch } from '../nn/arch.ts';
import { buildModel, mlpSpecs } from '../nn/models.ts';
import type { LayerSpec } from '../nn/module.ts';
import { manualSeed } from '../nn/init.ts';
import { formatSummary, summarize } from '../nn/summary.ts';
import { CosineAnnealingLR, CosineAnnealingWarmRestarts, StepLR, type LRScheduler } from '../optim/schedule.ts';
import { Adam, AdamW } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { SGD } from '../optim/sgd.ts';
import { FORMAT, VERSION, serializeWeights, stateDict, type EpochRecord, type WeightsFile } from '../train/checkpoint.ts';
import { DivergenceError, fit, type FitResult } from '../train/train.ts';
import type { ResumeState } from '../train/resume.ts';
import { formatChart } from './chart.ts';
import { INTERRUPTED_EXIT_CODE, catchInterrupts, type Interrupts } from './interrupt.ts';
import { BatchWindow, MetricsLog, logFormat } from './metrics-log.ts';
import { explainDivergence, restoreTraining, resumeCommand, snapshot, type LiveTraining } from './train-checkpoint.ts';
import { backendOption, selectBackend } from './backend-flag.ts';
import type { Backend } from '../engine/backend.ts';
import { UsageError, planResume, type ResumeFlags, type ResumePlan } from './train-resume.ts';
import { evaluate } from '../train/evaluate.ts';
import { ParallelStepper } from '../train/parallel.ts';
import { trainingReportHtml } from '../report/report-page.ts';
import { loadDatasetForCli } from './data.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { belowMinimum, fraction, nonNegativeInt, nonNegativeNumber, percentage, positiveInt, positiveNumber } from './flags.ts';
import { writeFileAtomic } from './files.ts';
import { int, makeUi, pct } from './ui.ts';

export { UsageError };

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
  scheduler: 'none' | 'step' | 'cosine' | 'cosine-restarts';
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
  resume?: string;
  log?: string;
  logEvery?: number;
  json?: boolean;
  report?: string;
  quiet?: boolean;
  /** Threads for training and evaluation, the main thread included (default: see trainThreads). */
  threads?: number;
  /** Kernels (default: wasm where it runs; a resumed run keeps its file's). */
  backend?: Backend;
  /** Percent: exit 1 after saving when the final test accuracy is lower (a CI smoke test). */
  minAccuracy?: number;
}

export function trainProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-train'))
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
    .addOption(new Option('--scheduler <name>', 'learning-rate schedule: cosine-restarts anneals from --lr to 0 within every epoch; step multiplies by gamma every step-size epochs; cosine anneals to 0 over --epochs').choices(['cosine-restarts', 'step', 'cosine', 'none']).default('cosine-restarts'))
    .option('--step-size <n>', 'epochs between lr drops (--scheduler step)', positiveInt, 1)
    .option('--gamma <g>', 'lr factor at each drop (--scheduler step)', positiveNumber, 0.7)
    .option('--seed <n>', 'random seed for initialisation and shuffling', nonNegativeInt, 1)
    .option('--limit <n>', 'use only the first N training images', positiveInt)
    .option('--test-limit <n>', 'use only the first N test images', positiveInt)
    .addOption(new Option('--dataset <name>', 'dataset').choices(['mnist', 'fashion-mnist']).default('mnist'))
    .option('--data-dir <dir>', 'where the IDX files are cached (default: ./data/<dataset>, or $MNIST_DATA_DIR)')
    .option('--out <file>', 'weights file to write after every epoch (with --resume: the file resumed)', 'weights.json')
    .option('--resume <file>', 'continue the run saved in this weights file: model, data and settings come from it; --epochs sets a new total')
    .option('--log <file>', 'append per-epoch metrics to a .jsonl or .csv file')
    .option('--log-every <n>', 'with --log, also record the mean loss and accuracy of every N batches', positiveInt)
    .option('--json', 'print one JSON summary on stdout; human output goes to stderr')
    .option('--report <file>', 'after training, write an HTML report: curves, confusion matrix, misclassified test digits')
    .option('--quiet', 'print only the final result')
    .option('--threads <n>', "threads for training and evaluation (default: the machine's cores; 1 for epochs under 100 batches)", positiveInt)
    .addOption(backendOption())
    .option('--min-accuracy <percent>', 'exit 1 (after saving the weights) when the final test accuracy is below this, e.g. 90: a CI smoke test', percentage);
}

function checkWritable(out: string, flag = '--out'): void {
  const path = resolve(out);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${out}: is a directory, expected a file path`);
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UsageError(`${flag} ${out}: directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${flag} ${out}: ${dir} is not a directory`);
  // creating a file is the only sure test (root passes access(2) checks on read-only mounts)
  const probe = join(dir, `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, 'w'));
  } catch {
    throw new UsageError(`${flag} ${out}: cannot create files in ${dir}`);
  }
  rmSync(probe, { force: true });
}

/** The layer specs the flags ask for: --arch, else the --model preset. */
export function modelSpecs(opts: Pick<TrainOptions, 'model' | 'arch' | 'hidden'>, inputShape = [1, 28, 28], classes = 10): { name: string; specs: LayerSpec[] } {
  if (opts.arch !== undefined) return { name: 'arch', specs: parseArch(opts.arch, inputShape, classes) };
  if (opts.model === 'cnn') return { name: 'cnn', specs: cnnSpecs() };
  return { name: 'mlp', specs: mlpSpecs(opts.hidden, inputShape.reduce((a, b) => a * b, 1), classes) };
}

/**
 * --threads, or by default the machine's cores, except for short epochs: starting a worker
 * (tsx registers and compiles the engine in each) costs about a second, more than it saves.
 */
export function trainThreads(flag: number | undefined, batchesPerEpoch: number): number {
  return flag ?? (batchesPerEpoch < 100 ? 1 : availableParallelism());
}

/**
 * Runs mnist-train. `given(key)` tells whether an option was typed on the command line rather
 * than defaulted (--resume refuses typed flags that contradict the file).
 */
export async function train(flags: TrainOptions, given: (key: string) => boolean = () => false): Promise<void> {
  if (flags.logEvery !== undefined && flags.log === undefined) throw new UsageError('--log-every needs --log FILE (.jsonl or .csv)');
  if (flags.log !== undefined && !logFormat(flags.log)) throw new UsageError(`--log ${flags.log}: expected a file name ending in .jsonl or .csv`);
  const plan = flags.resume === undefined
    ? undefined
    : planResume(flags as unknown as ResumeFlags, given, (o) => formatArch(modelSpecs(o as unknown as TrainOptions).specs));
  // a resumed run trains with the file's settings, towards the new total, into the same file
  // --threads stays free, but by default a resumed run splits its batches as the run it continues did
  const opts: TrainOptions = plan
    ? { ...flags, ...plan.settings, epochs: plan.epochs, out: given('out') ? flags.out : plan.path, threads: given('threads') ? flags.threads : (plan.settings.threads ?? flags.threads), backend: given('backend') ? flags.backend : (plan.settings.backend ?? flags.backend) }
    : flags;
  const interrupts = catchInterrupts({
    stopping: 'stopping after this batch to save a checkpoint (press Ctrl-C again to quit at once)',
    exiting: (trained) => (trained ? `interrupted; ${opts.out} keeps the last complete checkpoint` : 'interrupted before training started; nothing was written'),
  });
  try {
    await trainRun(opts, flags, plan, interrupts);
  } finally {
    interrupts.dispose();
  }
}

async function trainRun(opts: TrainOptions, flags: TrainOptions, plan: ResumePlan | undefined, interrupts: Interrupts): Promise<void> {
  const ui = makeUi({ quiet: opts.quiet, json: opts.json });
  const { c } = ui;
  // before any model or optimizer buffer exists: the wasm backend puts them in its memory
  const backend = selectBackend(opts.backend, ui);
  const { name: modelName, specs } = plan ? { name: plan.file.model.name, specs: plan.file.model.layers } : modelSpecs(opts);
  manualSeed(opts.seed);
  const model = plan ? plan.model : buildModel(specs);
  const summaryText = formatSummary(summarize(model, [1, 28, 28]));
  if (opts.summary) {
    process.stdout.write(`${summaryText}\n`);
    return;
  }
  checkWritable(opts.out);
  if (opts.log !== undefined) checkWritable(opts.log, '--log');
  if (opts.dataDir !== undefined && existsSync(opts.dataDir) && !statSync(opts.dataDir).isDirectory()) {
    throw new UsageError(`--data-dir ${opts.dataDir}: is a file, expected a directory`);
  }
  if (opts.report !== undefined) checkWritable(opts.report, '--report');

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

  ui.line(`model ${c.bold(modelName)}: ${formatArch(specs)}`);
  ui.line(summaryText);
  const sched = opts.scheduler === 'none' ? '' : `, ${opts.scheduler} schedule`;
  ui.line(`${opts.optimizer} lr ${lr}${sched}, batch ${opts.batchSize}, ${opts.epochs} epoch${opts.epochs === 1 ? '' : 's'}, seed ${opts.seed} → ${opts.out}`);

  const norm = { batchSize: opts.batchSize, mean: data.mean, std: data.std };
  const trainBatches = new Batcher(trainSplit, norm);
  const testBatches = new Batcher(testSplit, { ...norm, batchSize: 1000 });
  // step and cosine move once per epoch (StepLR, CosineAnnealingLR); cosine-restarts once per
  // batch, down half a cosine within every epoch (CosineAnnealingWarmRestarts, T_0 = one epoch),
  // so each epoch ends, and is evaluated and saved, at a small lr. It depends on the step count
  // alone, so 2 epochs + a resume to 4 equal 4 straight. A resumed cosine keeps its tMax, as
  // PyTorch's state_dict does.
  const batchesPerEpoch = trainBatches.count();
  let scheduler: LRScheduler | undefined;
  if (opts.scheduler === 'step') scheduler = new StepLR(optimizer, { stepSize: opts.stepSize, gamma: opts.gamma });
  if (opts.scheduler === 'cosine-restarts') scheduler = new CosineAnnealingWarmRestarts(optimizer, { t0: batchesPerEpoch });
  const tMax = plan ? plan.settings.tMax : opts.epochs;
  if (opts.scheduler === 'cosine') scheduler = new CosineAnnealingLR(optimizer, { tMax });
  if (plan && opts.scheduler === 'cosine' && tMax !== opts.epochs) {
    ui.warn(`the cosine schedule keeps tMax ${tMax} from ${plan.path}; past epoch ${tMax} the lr rises again`);
  }
  const rng = new Rng(opts.seed + 1);
  const live: LiveTraining = { optimizer, params: model.namedParameters(), scheduler, shuffleRng: rng, batches: batchesPerEpoch, epochs: opts.epochs };
  if (plan) {
    restoreTraining(plan, live);
    const r = plan.resume;
    const at = r.position ? `epoch ${r.epoch + 1}, batch ${r.position.batchesDone}/${r.batches}` : `the end of epoch ${r.epoch}`;
    ui.line(`resuming ${plan.path} at ${at}`);
  }
  const history: EpochRecord[] = plan ? [...plan.file.metrics] : [];
  const log = opts.log !== undefined ? new MetricsLog(opts.log, { append: !!plan }) : undefined;
  const window = log && opts.logEvery ? new BatchWindow(opts.logEvery, (r) => log.batch(r)) : undefined;
  let savedEpoch = plan && opts.out === plan.path ? plan.resume.epoch : undefined;
  let bar: ReturnType<typeof ui.bar> | undefined;
  let barEpoch = 0;

  const threads = trainThreads(opts.threads, batchesPerEpoch);
  if (plan?.settings.threads !== undefined && threads !== plan.settings.threads) {
    ui.warn(`training on ${threads} thread${threads === 1 ? '' : 's'} where ${plan.path} used ${plan.settings.threads}: the result will not be bit-identical to an uninterrupted run`);
  }
  if (plan?.settings.backend !== undefined && backend !== plan.settings.backend) {
    ui.warn(`training on the ${backend} backend where ${plan.path} used ${plan.settings.backend}: the result will not be bit-identical to an uninterrupted run`);
  }
  const weights = (resume: ResumeState): WeightsFile => ({
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
      stepSize: opts.scheduler === 'step' ? opts.stepSize : undefined,
      gamma: opts.scheduler === 'step' ? opts.gamma : undefined,
      tMax: opts.scheduler === 'cosine' ? tMax : undefined,
      batchSize: opts.batchSize,
      epochs: opts.epochs,
      seed: opts.seed,
      limit: opts.limit,
      testLimit: opts.testLimit,
      threads,
      backend,
    },
    metrics: history,
    state: stateDict(model),
    resume,
  });

  // --threads: each batch is split across worker threads holding replicas of the model
  const stepper = await ParallelStepper.create({
    specs, model, optimizer, threads, sampleShape: [1, data.train.rows, data.train.cols],
    maxBatch: Math.max(opts.batchSize, 1000), seed: opts.seed,
  });
  interrupts.arm();
  const fitting = fit({
    model,
    optimizer,
    stepper,
    train: trainBatches,
    test: testBatches,
    epochs: opts.epochs,
    startEpoch: plan?.resume.epoch,
    resumeAt: plan?.resume.position,
    rng,
    scheduler: opts.scheduler === 'cosine-restarts' ? undefined : scheduler,
    batchScheduler: opts.scheduler === 'cosine-restarts' ? scheduler : undefined,
    classes: data.classes.length,
    shouldStop: () => interrupts.requested,
    onStep: window && ((s) => window.step(s)),
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
      writeFileAtomic(opts.out, serializeWeights(weights(snapshot(live, m.epoch))));
      savedEpoch = m.epoch;
      log?.epoch(m);
      ui.line(
        `epoch ${m.epoch}/${opts.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}  ` +
          `test loss ${m.testLoss.toFixed(4)} acc ${c.bold(pct(m.testAccuracy))}  ${m.seconds.toFixed(1)}s ${int(m.samplesPerSecond)} samples/s`,
      );
    },
  });
  let result: FitResult;
  try {
    result = await fitting;
  } catch (err) {
    bar?.stop();
    if (err instanceof DivergenceError) throw explainDivergence(err, { lr, out: opts.out, savedEpoch });
    throw err;
  } finally {
    interrupts.disarm();
    log?.close();
    await stepper.close();
  }
  const summary = { out: opts.out, epochs: opts.epochs, model: { name: modelName, arch: formatArch(specs), params: live.params.reduce((n, p) => n + p.value.size, 0) }, metrics: history };
  if (result.stopped && result.epoch < opts.epochs) {
    bar?.stop();
    let where: string;
    if (result.position) {
      writeFileAtomic(opts.out, serializeWeights(weights(snapshot(live, result.epoch, result.position))));
      where = `interrupted at epoch ${result.epoch + 1}, batch ${result.position.batchesDone}/${result.position.batches}`;
    } else {
      where = `interrupted after epoch ${result.epoch}/${opts.epochs}`;
    }
    const command = resumeCommand(opts.out, { '--data-dir': flags.dataDir, '--log': flags.log, '--log-every': flags.logEvery });
    process.stderr.write(`${where}; resume with: ${command}\n`);
    if (opts.json) {
      const position = { epoch: result.epoch + (result.position ? 1 : 0), batch: result.position?.batchesDone ?? batchesPerEpoch, batches: batchesPerEpoch };
      process.stdout.write(`${JSON.stringify({ status: 'interrupted', ...summary, position, resumeCommand: command })}\n`);
    }
    process.exitCode = INTERRUPTED_EXIT_CODE;
    return;
  }
  const last = history.at(-1);
  if (last) {
    const line = `test accuracy ${pct(last.testAccuracy)} after ${last.epoch} epoch${last.epoch === 1 ? '' : 's'}; weights saved to ${opts.out}`;
    if (opts.quiet) {
      if (!opts.json) process.stdout.write(`${line}\n`);
    } else ui.line(c.green(line));
  }
  const chart = formatChart(history);
  if (chart) ui.line(chart);
  if (opts.report !== undefined) {
    const ev = evaluate(model, testBatches, data.classes.length);
    const html = trainingReportHtml({
      command: 'mnist-train',
      modelLabel: `${modelName}: ${formatArch(specs)} · ${int(params.reduce((n, p) => n + p.value.size, 0))} parameters`,
      facts: [['dataset', data.name], ['weights', opts.out]],
      classes: data.classes,
      epochs: history,
      evaluation: ev,
      split: testSplit,
      splitLabel: 'test',
    });
    writeFileAtomic(opts.report, html);
    ui.line(`report written to ${opts.report}`);
  }
  const short = last && belowMinimum(last.testAccuracy, opts.minAccuracy, 'test accuracy');
  if (opts.json) {
    const gate = opts.minAccuracy === undefined ? {} : { minAccuracy: opts.minAccuracy, passed: !short };
    process.stdout.write(`${JSON.stringify({ status: 'completed', ...summary, final: last, ...gate })}\n`);
  }
  if (short) throw new UsageError(`${short} (the weights are saved in ${opts.out})`);
}

export async function main(argv = process.argv): Promise<void> {
  const program = trainProgram();
  program.action(async (o: TrainOptions) => {
    await runCommand(() => train(o, (key) => program.getOptionValueSource(key) === 'cli'));
  });
  await program.parseAsync(argv);
}
