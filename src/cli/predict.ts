// mnist-predict: read PNG/JPEG pictures of digits, prepare each the way MNIST was made and print
// the model's answer with its probability and runners-up. One bad file does not stop the batch.
import { realpathSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { Command } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { Tensor } from '../engine/tensor.ts';
import { MAX_FILE_BYTES, decodeImage, encodeGreyPng, type DecodedImage } from '../data/image-io.ts';
import { normalizeImage } from '../data/normalize.ts';
import { SIZE, preprocessImage, type PreprocessInfo } from '../data/image.ts';
import { Softmax } from '../nn/softmax.ts';
import type { Sequential } from '../nn/sequential.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { readInputFile } from './read-input.ts';
import { positiveInt } from './flags.ts';
import { writeExplainPage } from './report-files.ts';
import { claimOutputs, writeFileSafe, type OutputSpec } from './safe-write.ts';
import { backendOption, selectBackend } from './backend-flag.ts';
import type { Backend } from '../engine/backend.ts';
import { makeUi, type Ui } from './ui.ts';
import { readWeightsFile } from './weights-file.ts';

export class PredictError extends MnistError {}

/** Below this probability the answer is flagged as a guess. */
const LOW_CONFIDENCE = 0.5;

export interface PredictOptions {
  /** Kernels (default: wasm where it runs). */
  backend?: Backend;
  weights: string;
  top: number;
  show?: boolean;
  saveInput?: string;
  json?: boolean;
  explain?: string;
}

export function predictProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-predict'))
    .description('Recognise the handwritten or printed digit in PNG/JPEG pictures with a trained model.')
    .argument('<images...>', 'PNG or JPEG files, one digit each')
    .option('--weights <file>', 'weights file written by mnist-train', 'weights.json')
    .option('--top <k>', 'how many of the most likely classes to list', positiveInt, 3)
    .option('--show', 'draw the 28×28 image the model saw')
    .option('--save-input <dir>', 'save the 28×28 image the model saw as a PNG in this directory')
    .addOption(backendOption())
    .option('--json', 'print the results as one JSON document on stdout')
    .option('--explain <file>', 'write an HTML page showing what every layer does to the picture (one picture only)')
    .addHelpText('after', `
Photos of a digit on paper work too: a phone photo is turned upright as its EXIF
orientation says, the paper's light is evened out (shadows, glare), printed
ruled and grid lines are removed, and what lies around the page is set aside.
--show draws what the model was given and says which region was read.`);
}

export interface Prediction {
  file: string;
  /** The predicted class (index into the weights file's classes), or null when no digit was found. */
  digit: number | null;
  label?: string;
  probability?: number;
  lowConfidence?: boolean;
  top?: { digit: number; label: string; probability: number }[];
  /** Why there is no prediction. */
  noDigit?: string;
  image?: { format: string; width: number; height: number; description: string };
  input?: PreprocessInfo;
  /** The 28×28 pixels the model saw (rows of 0..255), in --json output with --show. */
  pixels?: number[][];
  savedInput?: string;
  error?: string;
}

/** Reads one image file with the size limit checked before reading; messages leave the path to the caller. */
function readImageFile(path: string): DecodedImage {
  return decodeImage(readInputFile(path, { label: '', what: 'an image file', max: MAX_FILE_BYTES, error: (m, h) => new PredictError(m, h) }));
}

/** Runs the model on one 28×28 image: class probabilities. */
export function classify(model: Sequential, pixels: Uint8Array, mean: number, std: number): Float32Array {
  model.eval();
  const x = new Tensor([1, 1, SIZE, SIZE], normalizeImage(pixels, mean, std));
  return new Softmax(1).forward(model.forward(x)).data.slice();
}

function uniqueInputPath(dir: string, file: string, used: Set<string>): string {
  const stem = basename(file, extname(file)) || 'image';
  let name = `${stem}.input.png`;
  for (let i = 2; used.has(name); i++) name = `${stem}-${i}.input.png`;
  used.add(name);
  return join(dir, name);
}

export async function predict(files: string[], opts: PredictOptions): Promise<void> {
  const ui = makeUi({ json: opts.json });
  selectBackend(opts.backend, ui);
  if (opts.explain !== undefined && files.length !== 1) {
    throw new PredictError(`--explain draws one picture, but ${files.length} were given`, 'run mnist-predict once per picture with --explain');
  }
  const outputs: OutputSpec[] = [];
  if (opts.explain !== undefined) outputs.push({ flag: '--explain', path: opts.explain });
  if (opts.saveInput !== undefined) outputs.push({ flag: '--save-input', path: opts.saveInput, kind: 'dir' });
  const claim = claimOutputs(outputs, [{ what: 'the weights file', path: opts.weights }, ...files.map((f) => ({ what: 'a picture', path: f }))]);
  try {
    await predictClaimed(files, opts, ui);
  } finally {
    claim.release();
  }
}

/** Names of the pictures that live in `dir`: --save-input must not write over them. */
function inputsIn(dir: string, files: string[]): Set<string> {
  const names = new Set<string>();
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return names;
  }
  for (const f of files) {
    try {
      const r = realpathSync(f);
      if (dirname(r) === real) names.add(basename(r));
    } catch {
      // a missing picture is reported when it is read
    }
  }
  return names;
}

async function predictClaimed(files: string[], opts: PredictOptions, ui: Ui): Promise<void> {
  const { file: weights, model } = readWeightsFile(opts.weights);
  const shape = weights.input.shape;
  if (shape.length !== 3 || shape[0] !== 1 || shape[1] !== SIZE || shape[2] !== SIZE) {
    throw new PredictError(`${opts.weights}: the model takes input ${JSON.stringify(shape)}; mnist-predict prepares 1×28×28 images`);
  }
  if (weights.dataset !== 'mnist') ui.warn(`${opts.weights} was trained on ${weights.dataset}; pictures are prepared like MNIST digits (centred by mass in a 20×20 box)`);
  const classes = weights.classes;
  const top = Math.min(opts.top, classes.length);
  const used = opts.saveInput === undefined ? new Set<string>() : inputsIn(opts.saveInput, files);
  const results: Prediction[] = [];
  let failed = 0;
  for (const path of files) {
    let r: Prediction, pixels: Uint8Array | undefined;
    try {
      ({ r, pixels } = predictOne(path, model, weights.input, classes, top, opts, used));
    } catch (err) {
      failed++;
      const message = err instanceof MnistError ? err.message : `unexpected error (${(err as Error)?.message ?? String(err)}); this is a bug in mnist-ts, please report it`;
      process.stderr.write(`error: ${path}: ${message}\n`);
      results.push({ file: path, digit: null, error: message });
      continue;
    }
    results.push(r);
    if (!opts.json) render(r, pixels, opts, ui);
  }
  if (opts.explain !== undefined && results[0]?.digit != null) {
    writeExplainPage(opts.explain, files[0], model, weights, opts.weights);
    ui.line(`explain page written to ${opts.explain}`);
  } else if (opts.explain !== undefined) {
    ui.warn(`--explain ${opts.explain}: not written, the picture gave no prediction`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ weights: opts.weights, model: weights.model.name, results }, null, 2)}\n`);
  }
  if (failed > 0) process.exitCode = 1;
}

function predictOne(
  path: string,
  model: Sequential,
  input: { mean: number; std: number },
  classes: string[],
  top: number,
  opts: PredictOptions,
  used: Set<string>,
): { r: Prediction; pixels?: Uint8Array } {
  const img = readImageFile(path);
  // where several regions could be the digit, the one the model reads most confidently wins
  const pre = preprocessImage(img, { classify: (px) => classify(model, px, input.mean, input.std) });
  const r: Prediction = {
    file: path,
    digit: null,
    image: { format: img.format, width: img.width, height: img.height, description: img.description },
    input: pre.info,
  };
  if (!pre.pixels) {
    r.noDigit = pre.reason ?? 'no digit found';
    return { r };
  }
  const probs = classify(model, pre.pixels, input.mean, input.std);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  const best = order[0];
  r.digit = best;
  r.label = classes[best];
  r.probability = probs[best];
  r.lowConfidence = probs[best] < LOW_CONFIDENCE;
  r.top = order.slice(0, top).map((k) => ({ digit: k, label: classes[k], probability: probs[k] }));
  if (opts.show && opts.json) r.pixels = Array.from({ length: SIZE }, (_, y) => Array.from(pre.pixels!.subarray(y * SIZE, (y + 1) * SIZE)));
  if (opts.saveInput !== undefined) {
    const out = uniqueInputPath(opts.saveInput, path, used);
    writeFileSafe(out, encodeGreyPng(pre.pixels, SIZE, SIZE), { label: `--save-input ${out}` });
    r.savedInput = out;
  }
  return { r, pixels: pre.pixels };
}

// ---- rendering ----

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `width` cells for p in [0, 1], in eighths of a cell. */
export function bar(p: number, width = 20): string {
  const units = Math.round(Math.max(0, Math.min(1, p)) * width * 8);
  return '█'.repeat(Math.floor(units / 8)) + EIGHTHS[units % 8];
}

function pct1(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

function render(r: Prediction, pixels: Uint8Array | undefined, opts: PredictOptions, ui: Ui): void {
  const { c } = ui;
  if (r.digit === null) {
    ui.line(`${r.file}: ${c.yellow(r.noDigit ?? 'no digit found')}`);
    if (opts.show && r.input) ui.line(c.dim(`  ${describeInput(r)}`));
    return;
  }
  const p = r.probability ?? 0;
  const head = `${r.file}: ${c.bold(r.label ?? String(r.digit))} (${pct1(p)})`;
  const notes = [...(r.lowConfidence ? [`low confidence: the model is not sure (below ${LOW_CONFIDENCE * 100}%)`] : []), ...(r.input?.warnings ?? [])];
  ui.line(notes.length ? `${head} ${c.yellow(notes.join('; '))}` : head);
  const w = Math.max(...(r.top ?? []).map((t) => t.label.length));
  for (const t of r.top ?? []) {
    const b = bar(t.probability).padEnd(20);
    ui.line(`  ${t.label.padStart(w)} ${t.digit === r.digit ? c.green(b) : c.dim(b)} ${pct1(t.probability).padStart(6)}`);
  }
  if (opts.show) {
    ui.line(c.dim(`  ${describeInput(r)}`));
    if (pixels) for (const line of drawDigit(pixels, ui.tty && c.level > 0)) ui.line(`  ${line}`);
  }
  if (r.savedInput) ui.line(c.dim(`  model input saved to ${r.savedInput}`));
}

function describeInput(r: Prediction): string {
  const parts: string[] = [];
  if (r.image) parts.push(`${r.image.description}, ${r.image.width}×${r.image.height}`);
  const i = r.input;
  if (i) {
    const paper = i.alpha === 'ink' ? 'a transparent background' : i.inverted ? 'a light background' : 'a dark background';
    if (i.signal === 'colour') parts.push(`ink told apart from ${paper} by its colour`);
    else parts.push(`${i.inverted ? 'dark' : 'light'} ink on ${paper}${i.inverted ? ' (inverted)' : ''}`);
    if (i.lines) parts.push(`printed lines removed (${i.lines.horizontal} across, ${i.lines.vertical} down)`);
    if (i.box) parts.push(`digit ${i.box.width}×${i.box.height} at (${i.box.x}, ${i.box.y})${i.chosen ? `, chosen as ${i.chosen}` : ''}`);
    if (i.candidates && i.candidates.length > 1) {
      const others = i.candidates.slice(1).map((c) => `${c.box.width}×${c.box.height} at (${c.box.x}, ${c.box.y}) read as ${c.digit} (${Math.round((c.confidence ?? 0) * 100)}%)`);
      parts.push(`other candidates: ${others.join(', ')}`);
    }
    if (i.setAside) parts.push(`set aside: ${Object.entries(i.setAside).map(([why, n]) => `${n} ${why}`).join(', ')}`);
    if (i.stroke !== undefined && i.strokeAdjusted !== undefined && Math.abs(i.stroke - i.strokeAdjusted) > 0.05) {
      parts.push(`strokes ${i.stroke < i.strokeAdjusted ? 'thickened' : 'thinned'} to ${i.strokeAdjusted.toFixed(1)} px`);
    }
  }
  return parts.join('; ');
}

const SHADES = [' ', '░', '▒', '▓', '█'];

/**
 * The 28×28 image as text. With colour: upper half blocks, two pixel rows per line in 24 grey
 * levels. Without: two shade characters per pixel (keeps the aspect ratio), no escape codes.
 */
function drawDigit(pixels: Uint8Array, colour: boolean): string[] {
  const lines: string[] = [];
  if (colour) {
    // xterm-256 greys: 16 is black, 232..255 a ramp, 231 white
    const grey = (v: number) => (v < 8 ? 16 : v > 247 ? 231 : 232 + Math.min(23, Math.round(((v - 8) / 240) * 23)));
    for (let y = 0; y < SIZE; y += 2) {
      let s = '';
      for (let x = 0; x < SIZE; x++) s += `\x1b[38;5;${grey(pixels[y * SIZE + x])}m\x1b[48;5;${grey(pixels[(y + 1) * SIZE + x])}m▀`;
      lines.push(`${s}\x1b[0m`);
    }
    return lines;
  }
  for (let y = 0; y < SIZE; y++) {
    let s = '';
    for (let x = 0; x < SIZE; x++) {
      const ch = SHADES[Math.min(4, Math.round((pixels[y * SIZE + x] / 255) * 4))];
      s += ch + ch;
    }
    lines.push(`│${s}│`);
  }
  return [`┌${'─'.repeat(SIZE * 2)}┐`, ...lines, `└${'─'.repeat(SIZE * 2)}┘`];
}

export async function main(argv = process.argv): Promise<void> {
  const program = predictProgram();
  program.action(async (files: string[], o: PredictOptions) => {
    await runCommand(() => predict(files, o));
  });
  await program.parseAsync(argv);
}
