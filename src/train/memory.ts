// What a training run will need before it starts: memory for parameters, gradients, optimizer
// state, worker replicas, activations and the checkpoint text, and the size of the weights file.
// Estimates from shapes alone (nothing is allocated), so a run that cannot fit is refused early.

/** Worst case of one stored float32 in the file: "-1.17549435e-38," (shortest form plus a comma). */
export const MAX_BYTES_PER_NUMBER = 16;

/** The JavaScript side of saving one number: its array slot, its text, and the joined copy of that text. */
const SAVE_BYTES_PER_NUMBER = 8 + 2 * MAX_BYTES_PER_NUMBER;

/** Node itself, the code, and the decoded dataset (70,000 MNIST images are 55 MB). */
export const BASE_BYTES = 200 * 2 ** 20;

export interface MemoryInput {
  /** Parameters of the model. */
  params: number;
  /** Values per image of the input and of every layer's output, in order. */
  activations: readonly number[];
  /** Training batch size. */
  batchSize: number;
  /** Evaluation batch size (forward only). */
  evalBatch: number;
  /** Optimizer buffers per parameter (Adam 2, SGD with momentum 1, plain SGD 0). */
  optimizerBuffers: number;
  /** Threads: every worker beyond the main thread holds a replica of the model and its gradients. */
  threads: number;
}

export interface MemoryEstimate {
  parameters: number;
  optimizer: number;
  replicas: number;
  activations: number;
  checkpoint: number;
  base: number;
  total: number;
  /** Upper bound of the weights file with its resume state, in bytes. */
  fileBytes: number;
}

/**
 * Bytes a run needs at its peak. Training keeps every layer's output, a cache of about the same
 * size for backward and the gradients (3 per activation); evaluation holds about one layer's
 * output at a time (the largest, plus a quarter for the rest: `conv(1000,3) relu flatten
 * linear(10)` estimates 3.4 GB where 3.3 GB was measured). Saving holds every number as a JS
 * value and as text.
 */
export function estimateMemory(m: MemoryInput): MemoryEstimate {
  const sum = m.activations.reduce((a, b) => a + b, 0);
  const largest = m.activations.reduce((a, b) => Math.max(a, b), 0);
  const train = m.batchSize * sum * 4 * 3;
  const evaluate = m.evalBatch * largest * 4 * 1.25;
  const stored = m.params * (1 + m.optimizerBuffers);
  const e = {
    parameters: m.params * 4 * 2,
    optimizer: m.params * 4 * m.optimizerBuffers,
    replicas: Math.max(0, m.threads - 1) * m.params * 4 * 2,
    activations: Math.max(train, evaluate),
    checkpoint: stored * SAVE_BYTES_PER_NUMBER,
    base: BASE_BYTES,
    total: 0,
    fileBytes: stored * MAX_BYTES_PER_NUMBER + 64 * 1024,
  };
  e.total = e.parameters + e.optimizer + e.replicas + e.activations + e.checkpoint + e.base;
  return e;
}

/** 1536 * 2**20 -> "1.5 GB", 300 * 2**20 -> "300 MB". */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(n / 2 ** 20))} MB`;
}
