// mnist-train: fetch the data, build a model from flags (or continue a saved run), train it with
// progress output, and write the weights file with its resume state atomically after every epoch.
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AUGMENT_MODES, augmentShowcase, type AugmentMode } from '../data/augment.ts';
import { Batcher, subset } from '../data/batches.ts';
import { Rng } from '../engine/rng.ts';
import type { DatasetSplits, Split } from '../data/sources.ts';
import { ARCH_PRESETS, formatArch, parseArch } from '../nn/arch.ts';
import { buildModel, mlpSpecs, parameterCount } from '../nn/models.ts';
import type { LayerSpec } from '../nn/module.ts';
import { manualSeed } from '../nn/init.ts';
import { formatSummary, forwardMultiplies, summarize } from '../nn/summary.ts';
import { CosineAnnealingLR, CosineAnnealingWarmRestarts, StepLR, type LRScheduler } from '../optim/schedule.ts';
import { Adam, AdamW } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { SGD } from '../optim/sgd.ts';
import { FORMAT, VERSION, serializeWeights, stateDict, type EpochRecord, type WeightsFile } from '../weights/checkpoint.ts';
import { DivergenceError, fit, type FitResult } from '../train/train.ts';
import type { ResumeState } from '../weights/resume.ts';
import { formatChart } from './chart.ts';
import { INTERRUPTED_EXIT_CODE, catchInterrupts, type Interrupts } from './interrupt.ts';
import { BatchWindow, MetricsLog, logFormat } from './metrics-log.ts';
import { explainDivergence, restoreTraining, resumeCommand, snapshot, type LiveTraining } from './train-checkpoint.ts';
import { backendOption, selectBackend } from './backend-flag.ts';
import { backend as currentBackend, type Backend } from '../engine/backend.ts';
import { UsageError, planResume, type ResumeFlags, type ResumePlan } from './train-resume.ts';
import { evaluate } from '../train/evaluate.ts';
import { ParallelStepper } from '../train/parallel.ts';
import { trainingReportHtml } from '../report/report-page.ts';
import { loadDatasetForCli } from './data.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { belowMinimum, limited, percentage, portNumber, positiveInt } from './flags.ts';
import { RUN_LIMITS as L } from '../weights/limits.ts';
import { claimOutputs, writeFileSafe, type OutputSpec } from './safe-write.ts';
import { activationSizes, capThreads, checkFileSize, checkMemory, checkModelSpecs, defaultMaxMemoryMb, ignoredFlagWarnings, optimizerBuffers } from './train-preflight.ts';
import { estimateMemory } from '../train/memory.ts';
import type { Sequential } from '../nn/sequential.ts';
import { int, makeUi, pct, type Ui } from './ui.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from './live-server.ts';
import { watchTraining, type TrainWatch } from './train-serve.ts';

function widthList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) throw new InvalidArgumentError('must be a comma list of positive integers, e.g. 256 or 512,256.');
  return parts.map(Number);
}

export interface TrainOptions {
  model: string;
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
  /** Refuse runs estimated above this many MB (default: defaultMaxMemoryMb()). */
  maxMemory?: number;
  /** Percent: exit 1 after saving when the final test accuracy is lower (a CI smoke test). */
  minAccuracy?: number;
  /** Random distortion of the training images (data/augment.ts). */
  augment: AugmentMode;
  /** Print a few training images as the augmentation draws them, then exit. */
  showAugment?: boolean;
  /** --serve: the live page shows the run (train-serve.ts). */
  serve?: boolean;
  host: string;
  port: number;
}

export function trainProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-train'))
    .description('Train a digit classifier on MNIST (or Fashion-MNIST) and save its weights as JSON.')
    .addOption(new Option('--model <name>', 'model preset: mlp, cnn, cnn-bn (the cnn with batch normalisation) or cnn-bn-wide (cnn-bn with twice the channels)').choices(['mlp', ...Object.keys(ARCH_PRESETS)]).default('mlp'))
    .option('--arch <spec>', 'any sequential model, e.g. "conv(16,3,padding=1) relu maxpool(2) flatten linear(10)" (overrides --model)')
    .option('--hidden <widths>', 'MLP hidden layer widths, comma-separated', widthList, [256])
    .option('--summary', 'print the model summary table and exit')
    .option('--epochs <n>', 'number of passes over the training set', limited(L.epochs), 5)
    .option('--batch-size <n>', 'samples per optimisation step', limited(L.batchSize), 64)
    .option('--lr <rate>', 'learning rate (default: 0.001 for adam/adamw, 0.01 for sgd)', limited(L.lr))
    .addOption(new Option('--optimizer <name>', 'optimiser').choices(['adam', 'adamw', 'sgd']).default('adam'))
    .option('--momentum <m>', 'SGD momentum', limited(L.momentum), 0.9)
    .option('--nesterov', 'Nesterov momentum (SGD)')
    .option('--weight-decay <w>', 'L2 penalty (decoupled for adamw; default 0, or 0.01 for adamw)', limited(L.weightDecay))
    .addOption(new Option('--scheduler <name>', 'learning-rate schedule: cosine-restarts anneals from --lr to 0 within every epoch; step multiplies by gamma every step-size epochs; cosine anneals to 0 over --epochs').choices(['cosine-restarts', 'step', 'cosine', 'none']).default('cosine-restarts'))
    .option('--step-size <n>', 'epochs between lr drops (--scheduler step)', limited(L.stepSize), 1)
    .option('--gamma <g>', 'lr factor at each drop (--scheduler step)', limited(L.gamma), 0.7)
    .option('--seed <n>', 'random seed for initialisation and shuffling (0..4294967295: the generator takes 32 bits)', limited(L.seed), 1)
    .addOption(new Option('--augment <mode>', 'distort each training image afresh every epoch: shift moves it up to 2 px; affine also rotates (±12°) and scales (±10%); elastic adds Simard\'s elastic distortion').choices([...AUGMENT_MODES]).default('none'))
    .option('--show-augment', 'print a few training images as --augment distorts them, then exit')
    .option('--limit <n>', 'use only the first N training images', limited(L.limit))
    .option('--test-limit <n>', 'use only the first N test images', limited(L.testLimit))
    .addOption(new Option('--dataset <name>', 'dataset').choices(['mnist', 'fashion-mnist']).default('mnist'))
    .option('--data-dir <dir>', 'where the IDX files are cached (default: ./data/<dataset>, or $MNIST_DATA_DIR)')
    .option('--out <file>', 'weights file to write after every epoch (with --resume: the file resumed)', 'weights.json')
    .option('--resume <file>', 'continue the run saved in this weights file: model, data and settings come from it; --epochs sets a new total')
    .option('--log <file>', 'append per-epoch metrics to a .jsonl or .csv file')
    .option('--log-every <n>', 'with --log, also record the mean loss and accuracy of every N batches', limited(L.logEvery))
    .option('--json', 'print one JSON summary on stdout; human output goes to stderr')
    .option('--report <file>', 'after training, write an HTML report: curves, confusion matrix, misclassified test digits')
    .option('--quiet', 'print only the final result')
    .option('--max-memory <MB>', 'refuse a run whose estimated memory is above this many MB (default: 80% of the machine)', positiveInt)
    .option('--threads <n>', "threads for training and evaluation (default: the machine's cores; 1 for epochs under 100 batches or a model as small as the default MLP; at most the cores)", limited(L.threads))
    .addOption(backendOption())
    .option('--min-accuracy <percent>', 'exit 1 (after saving the weights) when the final test accuracy is below this, e.g. 90: a CI smoke test', percentage)
    .option('--serve', 'show the run on a live page: curves, and test digits through the current weights; stays up after training until Ctrl-C')
    .option('--host <address>', 'with --serve: address to listen on', DEFAULT_HOST)
    .option('--port <n>', 'with --serve: port to listen on (0: any free port)', portNumber, DEFAULT_PORT);
}

/** The weights file's `training` block: the settings a --resume reads back (train-resume.ts). */
export function trainingFields(opts: TrainOptions, run: { lr: number; weightDecay: number; tMax: number; threads: number }): Record<string, unknown> {
  return {
    optimizer: opts.optimizer,
    lr: run.lr,
    momentum: opts.optimizer === 'sgd' ? opts.momentum : undefined,
    nesterov: opts.optimizer === 'sgd' ? !!opts.nesterov : undefined,
    weightDecay: run.weightDecay,
    scheduler: opts.scheduler,
    stepSize: opts.scheduler === 'step' ? opts.stepSize : undefined,
    gamma: opts.scheduler === 'step' ? opts.gamma : undefined,
    tMax: opts.scheduler === 'cosine' ? run.tMax : undefined,
    batchSize: opts.batchSize,
    epochs: opts.epochs,
    seed: opts.seed,
    limit: opts.limit,
    testLimit: opts.testLimit,
    threads: run.threads,
    augment: opts.augment,
  };
}

/** The layer specs the flags ask for: --arch, else the --model preset. */
function modelSpecs(opts: Pick<TrainOptions, 'model' | 'arch' | 'hidden'>, inputShape = [1, 28, 28], classes = 10): { name: string; specs: LayerSpec[] } {
  if (opts.arch !== undefined) return { name: 'arch', specs: parseArch(opts.arch, inputShape, classes) };
  const preset = Object.hasOwn(ARCH_PRESETS, opts.model) ? ARCH_PRESETS[opts.model] : undefined;
  if (preset) return { name: opts.model, specs: parseArch(preset, inputShape, classes) };
  return { name: 'mlp', specs: mlpSpecs(opts.hidden, inputShape.reduce((a, b) => a * b, 1), classes) };
}

/**
 * Below this many multiplications per sample, one thread trains as fast as two: the 784-256-10
 * MLP (203,264; its first layer skips the background pixels) took 12.6 s for 5 epochs on one
 * thread and 12.2 s on two. The default CNN has 1,218,048.
 */
const SMALL_MODEL_MULTIPLIES = 500_000;

/**
 * --threads, or by default the machine's cores, except for short epochs (starting a worker costs
 * about a second, more than it saves) and small models (the threads' hand-offs cost what they save).
 */
export function trainThreads(flag: number | undefined, batchesPerEpoch: number, multiplies: number): number {
  return flag ?? (batchesPerEpoch < 100 || multiplies < SMALL_MODEL_MULTIPLIES ? 1 : availableParallelism());
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
  const warnings = makeUi({ quiet: opts.quiet, json: opts.json });
  if (opts.optimizer === 'sgd' && opts.nesterov && opts.momentum === 0) throw new UsageError('--nesterov needs --momentum above 0', 'drop --nesterov, or give --momentum 0.9');
  for (const w of ignoredFlagWarnings(opts, given)) warnings.warn(w);
  const interrupts = catchInterrupts({
    stopping: 'stopping after this batch to save a checkpoint (press Ctrl-C again to quit at once)',
    exiting: (trained) => (trained ? `interrupted; ${opts.out} keeps the last complete checkpoint` : 'interrupted before training started; nothing was written'),
  });
  const serving: { watch?: TrainWatch } = {};
  try {
    await trainRun(opts, flags, plan, interrupts, serving);
  } finally {
    interrupts.dispose();
  }
  if (serving.watch && !process.exitCode) await serving.watch.serveUntilInterrupted();
}

async function trainRun(opts: TrainOptions, flags: TrainOptions, plan: ResumePlan | undefined, interrupts: Interrupts, serving: { watch?: TrainWatch } = {}): Promise<void> {
  const ui = makeUi({ quiet: opts.quiet, json: opts.json });
  // before any model or optimizer buffer exists: the wasm backend puts them in its memory
  selectBackend(opts.backend, ui);
  const { name: modelName, specs } = plan ? { name: plan.file.model.name, specs: plan.file.model.layers } : modelSpecs(opts);
  // the reader's checks before anything is built: a model the flags allow is a file it reads
  const paramCount = checkModelSpecs(specs, modelName);
  const buffers = optimizerBuffers(opts.optimizer, opts.momentum);
  checkFileSize(paramCount, buffers, modelName);
  manualSeed(opts.seed);
  const model = plan ? plan.model : buildModel(specs);
  const summaryText = formatSummary(summarize(model, [1, 28, 28]));
  if (opts.summary) {
    process.stdout.write(`${summaryText}\n`);
    return;
  }
  if (opts.showAugment) {
    // the pictures only: no output file is claimed and nothing trains
    const data = await loadDatasetForCli(makeUi({ quiet: true }), opts.dataset, opts.dataDir);
    process.stdout.write(`${showAugmented(subset(data.train, opts.limit), opts.augment, opts.seed, process.stdout.columns ?? 80, data.classes)}\n`);
    return;
  }
  const outputs: OutputSpec[] = [{ flag: '--out', path: opts.out }];
  if (opts.log !== undefined) outputs.push({ flag: '--log', path: opts.log, kind: 'append' });
  if (opts.report !== undefined) outputs.push({ flag: '--report', path: opts.report });
  // a resumed run rewrites its own file; any other output must not be it
  const inputs = plan ? [{ what: 'the file resumed', path: plan.path, mayBe: ['--out'] }] : [];
  const claim = claimOutputs(outputs, inputs);
  try {
    await trainClaimed(opts, flags, plan, interrupts, { modelName, specs, model, summaryText, paramCount, buffers }, serving);
  } finally {
    claim.release();
  }
}

interface Built {
  modelName: string;
  specs: LayerSpec[];
  model: Sequential;
  summaryText: string;
  paramCount: number;
  buffers: number;
}

/** A claimed run in three stages: set up (data, optimizer, schedule), train (with checkpoints), report. */
async function trainClaimed(opts: TrainOptions, flags: TrainOptions, plan: ResumePlan | undefined, interrupts: Interrupts, built: Built, serving: { watch?: TrainWatch }): Promise<void> {
  const ui = makeUi({ quiet: opts.quiet, json: opts.json });
  const run = await setUpRun(opts, plan, ui, built);
  const result = await trainLoop(run, opts, interrupts, serving);
  finalReport(run, result, opts, flags);
}

/** Everything the loop and the final report share. */
interface Run extends Built {
  ui: Ui;
  plan?: ResumePlan;
  data: DatasetSplits;
  testSplit: Split;
  lr: number;
  optimizer: Optimizer;
  scheduler?: LRScheduler;
  trainBatches: Batcher;
  testBatches: Batcher;
  batchesPerEpoch: number;
  shuffleRng: Rng;
  live: LiveTraining;
  history: EpochRecord[];
  threads: number;
  /** The weights file to write, with this resume state. */
  weights(resume: ResumeState): WeightsFile;
}

/** Checks memory, loads the data, makes the optimizer and schedule, restores a resumed run's state. */
async function setUpRun(opts: TrainOptions, plan: ResumePlan | undefined, ui: Ui, built: Built): Promise<Run> {
  const { c } = ui;
  const { modelName, specs, model, summaryText } = built;
  if (opts.dataDir !== undefined && existsSync(opts.dataDir) && !statSync(opts.dataDir).isDirectory()) {
    throw new UsageError(`--data-dir ${opts.dataDir}: is a file, expected a directory`);
  }
  // before the data is loaded: both datasets are 1×28×28 images (a resumed file states its own)
  const cores = availableParallelism();
  checkMemory(
    estimateMemory({
      params: built.paramCount, activations: activationSizes(model, plan ? plan.file.input.shape : [1, 28, 28]),
      batchSize: opts.batchSize, evalBatch: 1000, optimizerBuffers: built.buffers, threads: Math.min(opts.threads ?? cores, cores),
    }),
    opts.maxMemory ?? defaultMaxMemoryMb(),
    opts.maxMemory !== undefined,
  );

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
  const aug = opts.augment === 'none' ? '' : `, ${opts.augment} augmentation`;
  ui.line(`${opts.optimizer} lr ${lr}${sched}${aug}, batch ${opts.batchSize}, ${opts.epochs} epoch${opts.epochs === 1 ? '' : 's'}, seed ${opts.seed} → ${opts.out}`);

  const norm = { batchSize: opts.batchSize, mean: data.mean, std: data.std };
  const trainBatches = new Batcher(trainSplit, { ...norm, augment: opts.augment });
  const testBatches = new Batcher(testSplit, { ...norm, batchSize: 1000 });
  // step and cosine move once per epoch (StepLR, CosineAnnealingLR); cosine-restarts once per
  // batch, down half a cosine within every epoch (CosineAnnealingWarmRestarts, T_0 = one epoch),
  // so each epoch ends, and is evaluated and saved, at a small lr. It depends on the step count
  // alone, so 2 epochs + a resume to 4 equal 4 straight. A resumed cosine keeps its tMax, as
  // PyTorch's state_dict does.
  const batchesPerEpoch = trainBatches.count();
  const cap = capThreads(trainThreads(opts.threads, batchesPerEpoch, forwardMultiplies(model, [1, data.train.rows, data.train.cols])), cores);
  if (cap.note) ui.warn(cap.note);
  const threads = cap.threads;
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

  if (plan?.settings.threads !== undefined && threads !== plan.settings.threads) {
    ui.warn(`training on ${threads} thread${threads === 1 ? '' : 's'} where ${plan.path} used ${plan.settings.threads}: the result will not be bit-identical to an uninterrupted run`);
  }
  const backend = currentBackend();
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
    training: { backend, ...trainingFields(opts, { lr, weightDecay: optimizer instanceof SGD ? optimizer.weightDecay : (optimizer as Adam).weightDecay, tMax, threads }) },
    metrics: history,
    state: stateDict(model),
    resume,
  });
  return {
    ...built, ui, plan, data, testSplit, lr, optimizer, scheduler, trainBatches, testBatches,
    batchesPerEpoch, shuffleRng: rng, live, history, threads, weights,
  };
}

/** Trains to opts.epochs, writing the weights file after every epoch; the stepper's threads are closed on the way out. */
async function trainLoop(run: Run, opts: TrainOptions, interrupts: Interrupts, serving: { watch?: TrainWatch }): Promise<FitResult> {
  const { ui, plan, model, optimizer, scheduler, specs, data, threads, history, live, weights, lr } = run;
  const { c } = ui;
  if (opts.serve) {
    serving.watch = await watchTraining({
      host: opts.host, port: opts.port, model, info: { name: run.modelName, arch: formatArch(specs), layers: specs },
      input: { shape: [1, data.train.rows, data.train.cols], mean: data.mean, std: data.std }, classes: data.classes, dataset: data.name,
      test: run.testSplit, epochs: opts.epochs, batches: run.batchesPerEpoch, out: opts.out, history,
    });
    process.stderr.write(`live page: ${serving.watch.url}\n`);
  }
  const watch = serving.watch;
  const log = opts.log !== undefined ? new MetricsLog(opts.log, { append: !!plan }) : undefined;
  const window = log && opts.logEvery ? new BatchWindow(opts.logEvery, (r) => log.batch(r)) : undefined;
  let savedEpoch = plan && opts.out === plan.path ? plan.resume.epoch : undefined;
  let bar: ReturnType<typeof ui.bar> | undefined;
  let barEpoch = 0;

  // --threads above 1: each batch is split across worker threads holding replicas of the model;
  // one thread trains the model in place (fit's own step), with no shared memory to copy into
  const stepper = threads === 1 ? undefined : await ParallelStepper.create({
    specs, model, optimizer, threads, sampleShape: [1, data.train.rows, data.train.cols],
    maxBatch: Math.max(opts.batchSize, 1000), seed: opts.seed,
  });
  // a reader already gone (the lines above failed to write) stops the run before it starts
  await new Promise((r) => setImmediate(r));
  interrupts.arm();
  const fitting = fit({
    model,
    optimizer,
    stepper,
    train: run.trainBatches,
    test: run.testBatches,
    epochs: opts.epochs,
    startEpoch: plan?.resume.epoch,
    resumeAt: plan?.resume.position,
    rng: run.shuffleRng,
    scheduler: opts.scheduler === 'cosine-restarts' ? undefined : scheduler,
    batchScheduler: opts.scheduler === 'cosine-restarts' ? scheduler : undefined,
    classes: data.classes.length,
    shouldStop: () => interrupts.requested,
    onStep: (window || watch) && ((s) => {
      window?.step(s);
      watch?.step(s);
    }),
    onBatch: (p) => {
      if (p.epoch !== barEpoch) {
        bar = ui.bar(p.batches, `epoch ${p.epoch}/${opts.epochs}`);
        barEpoch = p.epoch;
      }
      bar?.update(p.batch, { loss: p.loss, acc: p.accuracy, rate: p.samples / p.seconds });
    },
    onEpochEnd: async (m) => {
      bar?.stop();
      history.push(m);
      writeFileSafe(opts.out, serializeWeights(weights(snapshot(live, m.epoch))), { label: `--out ${opts.out}` });
      savedEpoch = m.epoch;
      log?.epoch(m);
      watch?.epoch(m);
      ui.line(
        `epoch ${m.epoch}/${opts.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}  ` +
          `test loss ${m.testLoss.toFixed(4)} acc ${c.bold(pct(m.testAccuracy))}  ${m.seconds.toFixed(1)}s ${int(m.samplesPerSecond)} samples/s`,
      );
      // a reader gone while this line was written (`| grep -m1 "^epoch 1/"`) stops the run here,
      // before another epoch: the failed write reports on the next turn of the event loop
      await new Promise((r) => setImmediate(r));
    },
  });
  try {
    const result = await fitting;
    if (result.stopped) bar?.stop();
    watch?.done(result.stopped && result.epoch < opts.epochs, result.epoch);
    return result;
  } catch (err) {
    bar?.stop();
    if (err instanceof DivergenceError) throw explainDivergence(err, { lr, out: opts.out, savedEpoch });
    throw err;
  } finally {
    interrupts.disarm();
    log?.close();
    await stepper?.close();
  }
}

/** After training: the interruption notice, or the final line, chart, --report page and --json summary. */
function finalReport(run: Run, result: FitResult, opts: TrainOptions, flags: TrainOptions): void {
  const { ui, modelName, specs, model, data, history, live, weights, testSplit, testBatches, batchesPerEpoch } = run;
  const { c } = ui;
  const summary = { out: opts.out, epochs: opts.epochs, model: { name: modelName, arch: formatArch(specs), params: parameterCount(model) }, metrics: history };
  if (result.stopped && result.epoch < opts.epochs) {
    let where: string;
    if (result.position) {
      writeFileSafe(opts.out, serializeWeights(weights(snapshot(live, result.epoch, result.position))), { label: `--out ${opts.out}` });
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
      modelLabel: `${modelName}: ${formatArch(specs)} · ${int(parameterCount(model))} parameters`,
      facts: [['dataset', data.name], ['weights', opts.out]],
      classes: data.classes,
      epochs: history,
      evaluation: ev,
      split: testSplit,
      splitLabel: 'test',
      augmented: opts.augment === 'none' ? undefined : { mode: opts.augment, samples: augmentShowcase(run.trainBatches.split, opts.augment, opts.seed, 4, 5) },
    });
    writeFileSafe(opts.report, html, { label: `--report ${opts.report}` });
    ui.line(`report written to ${opts.report}`);
  }
  const short = last && belowMinimum(last.testAccuracy, opts.minAccuracy, 'test accuracy');
  if (opts.json) {
    const gate = opts.minAccuracy === undefined ? {} : { minAccuracy: opts.minAccuracy, passed: !short };
    process.stdout.write(`${JSON.stringify({ status: 'completed', ...summary, final: last, ...gate })}\n`);
  }
  if (short) throw new UsageError(`${short} (the weights are saved in ${opts.out})`);
}

/**
 * A few training images, each first as stored and then as three epochs would draw it (shade
 * characters, one per pixel across and two pixel rows per line), as many across as `width` fits.
 */
function showAugmented(split: Split, mode: AugmentMode, seed: number, width: number, classes: string[]): string {
  const { rows, cols } = split;
  const across = Math.max(2, Math.floor((width + 1) / (cols + 3)));
  const blocks: string[] = [`--augment ${mode}: each row is one training image as stored, then as ${across - 1} epoch${across === 2 ? '' : 's'} could draw it`];
  for (const s of augmentShowcase(split, mode, seed, 4, across - 1)) {
    const drawn = [s.stored, ...s.drawn].map((v) => shadeLines(v, rows, cols));
    const lines = [`${classes[s.label] ?? s.label}`];
    for (let l = 0; l < drawn[0].length; l++) lines.push(drawn.map((d) => d[l]).join(' '));
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n');
}

const SHADES = [' ', '░', '▒', '▓', '█'];

/** An image of intensities 0..1 as framed text: each character is one column of two pixel rows. */
function shadeLines(v: Float32Array, rows: number, cols: number): string[] {
  const out = [`┌${'─'.repeat(cols)}┐`];
  for (let y = 0; y < rows; y += 2) {
    let s = '';
    for (let x = 0; x < cols; x++) {
      const m = (v[y * cols + x] + (y + 1 < rows ? v[(y + 1) * cols + x] : 0)) / 2;
      s += SHADES[Math.min(4, Math.max(0, Math.round(m * 4)))];
    }
    out.push(`│${s}│`);
  }
  out.push(`└${'─'.repeat(cols)}┘`);
  return out;
}

export async function main(argv = process.argv): Promise<void> {
  const program = trainProgram();
  program.action(async (o: TrainOptions) => {
    await runCommand(() => train(o, (key) => program.getOptionValueSource(key) === 'cli'));
  });
  await program.parseAsync(argv);
}
