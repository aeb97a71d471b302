// mnist-train's checks before any work: the model the flags describe must be one the weights-file
// reader takes back, fit in memory (estimate against --max-memory) and in a readable file; threads
// are capped at the cores; flags the chosen optimizer or schedule ignores are named once.
import { totalmem } from 'node:os';
import { MnistError } from '../engine/errors.ts';
import type { LayerSpec } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';
import { checkLayers } from '../weights/layer-check.ts';
import { MAX_WEIGHTS_BYTES } from '../weights/limits.ts';
import { estimateMemory, formatBytes, type MemoryEstimate } from '../train/memory.ts';
import { UsageError } from './train-resume.ts';

/** Default --max-memory: most of the machine, leaving room for the system. */
export function defaultMaxMemoryMb(): number {
  return Math.floor((totalmem() * 0.8) / 2 ** 20);
}

/** The flags that describe the model, for messages. */
function modelFlag(name: string): string {
  return name === 'arch' ? '--arch' : name === 'cnn' ? '--model cnn' : '--hidden';
}

/**
 * Checks the layer specs as the weights-file reader will (every hyper-parameter, the parameter
 * limit); returns the parameter count. Runs before the model is built.
 */
export function checkModelSpecs(specs: LayerSpec[], modelName: string): number {
  try {
    return checkLayers(specs, 'model.layers').count;
  } catch (err) {
    if (!(err instanceof MnistError)) throw err;
    throw new UsageError(`${modelFlag(modelName)}: ${err.message.replace(/^model\.layers\[(\d+)\]/, (_, i) => `layer ${Number(i) + 1}`)}`, 'use a smaller model');
  }
}

/** Optimizer buffers per parameter: Adam's two moments, SGD's momentum (none without it). */
export function optimizerBuffers(optimizer: string, momentum: number): number {
  return optimizer === 'sgd' ? (momentum > 0 ? 1 : 0) : 2;
}

/** Values per image of the input and of every layer's output. */
export function activationSizes(model: Sequential, inputShape: readonly number[]): number[] {
  let shape = [1, ...inputShape];
  const sizes = [inputShape.reduce((a, b) => a * b, 1)];
  for (const layer of model.layers) {
    shape = layer.outputShape(shape);
    sizes.push(shape.slice(1).reduce((a, b) => a * b, 1));
  }
  return sizes;
}

/** The weights file must stay readable: the reader refuses files past MAX_WEIGHTS_BYTES. */
export function checkFileSize(params: number, buffers: number, modelName: string): void {
  const est = estimateMemory({ params, activations: [], batchSize: 0, evalBatch: 0, optimizerBuffers: buffers, threads: 1 });
  if (est.fileBytes > MAX_WEIGHTS_BYTES) {
    throw new UsageError(
      `${modelFlag(modelName)}: ${params.toLocaleString('en-US')} parameters make a weights file of up to ${formatBytes(est.fileBytes)} with its resume state; ` +
        `mnist-ts reads weights files of at most ${formatBytes(MAX_WEIGHTS_BYTES)}`,
      'use a smaller model',
    );
  }
}

/** Refuses a run whose estimate is past the limit, naming both and the biggest parts. */
export function checkMemory(est: MemoryEstimate, limitMb: number, explicit: boolean): void {
  const limit = limitMb * 2 ** 20;
  if (est.total <= limit) return;
  const parts = ([['parameters and gradients', est.parameters], ['optimizer state', est.optimizer], ['worker replicas', est.replicas], ['activations', est.activations], ['saving', est.checkpoint]] as const)
    .filter(([, b]) => b >= 0.05 * est.total)
    .map(([name, b]) => `${name} ${formatBytes(b)}`)
    .join(', ');
  const where = explicit ? '--max-memory' : `--max-memory, by default 80% of this machine's ${formatBytes(totalmem())}`;
  throw new UsageError(
    `this run needs about ${formatBytes(est.total)} of memory (${parts}); the limit is ${formatBytes(limit)} (${where})`,
    'use a smaller model, --batch-size or --threads, or raise --max-memory MB',
  );
}

/** Threads past the cores only add memory and time: cap them, with the note to print. */
export function capThreads(threads: number, cores: number): { threads: number; note?: string } {
  if (threads <= cores) return { threads };
  return { threads: cores, note: `${threads} threads asked for, but this machine has ${cores} core${cores === 1 ? '' : 's'}: training on ${cores}` };
}

/** Typed flags the run's optimizer or schedule does not use, each named once. */
export function ignoredFlagWarnings(o: { optimizer: string; scheduler: string }, given: (key: string) => boolean): string[] {
  const out: string[] = [];
  if (o.optimizer !== 'sgd') {
    for (const [key, flag] of [['momentum', '--momentum'], ['nesterov', '--nesterov']] as const) {
      if (given(key)) out.push(`${flag} is ignored: only --optimizer sgd uses it (this run uses ${o.optimizer})`);
    }
  }
  if (o.scheduler !== 'step') {
    for (const [key, flag] of [['stepSize', '--step-size'], ['gamma', '--gamma']] as const) {
      if (given(key)) out.push(`${flag} is ignored: only --scheduler step uses it (this run uses ${o.scheduler})`);
    }
  }
  return out;
}
