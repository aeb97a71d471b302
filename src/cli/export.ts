// mnist-export: a weights file to ONNX (a runnable graph), safetensors (the tensors and the
// metadata to rebuild the model) or a PyTorch script (model.py plus the .safetensors beside it).
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { exportModelOf, modelMetadata, toOnnx, OPSET } from '../interop/onnx.ts';
import { pytorchScript } from '../interop/pytorch.ts';
import { encodeSafetensors, type NamedTensor } from '../interop/safetensors.ts';
import type { Sequential } from '../nn/sequential.ts';
import type { WeightsFile } from '../weights/checkpoint.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { claimOutputs, writeFileSafe, type OutputSpec } from './safe-write.ts';
import { readWeightsFile } from './weights-file.ts';

export class ExportUsageError extends MnistError {}

export const EXPORT_FORMATS = { onnx: '.onnx', safetensors: '.safetensors', pytorch: '.py' } as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

export interface ExportOptions {
  format?: ExportFormat;
}

export function exportProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-export'))
    .description('Write a trained model as ONNX (opset 13), safetensors, or a PyTorch script (model.py, with the .safetensors beside it).')
    .argument('<weights>', 'weights file written by mnist-train')
    .argument('<out>', 'file to write: its extension (.onnx, .safetensors, .py) picks the format')
    .addOption(new Option('--format <name>', 'format, whatever the extension').choices(Object.keys(EXPORT_FORMATS)));
}

/** The format the flag names, else the one the extension names; a one-line error otherwise. */
export function exportFormat(out: string, flag?: ExportFormat): ExportFormat {
  if (flag) return flag;
  const ext = extname(out).toLowerCase();
  const hit = (Object.keys(EXPORT_FORMATS) as ExportFormat[]).find((f) => EXPORT_FORMATS[f] === ext);
  if (hit) return hit;
  throw new ExportUsageError(
    `${out}: ${ext ? `the extension ${ext} names no format mnist-export writes` : 'the file name has no extension to tell the format'}`,
    'name the file model.onnx, model.safetensors or model.py, or pass --format onnx|safetensors|pytorch',
  );
}

/** mnist-ts's version, for the ONNX producer field: from src/cli/ or from a bundle under node_modules/.cache/. */
function packageVersion(): string {
  for (let url = new URL('./', import.meta.url), i = 0; i < 6; url = new URL('../', url), i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mnist-ts') return pkg.version ?? '';
    } catch {
      // not here: one level up
    }
  }
  return '';
}

function metadataOf(file: WeightsFile): Record<string, string> {
  return modelMetadata({ name: file.model.name, arch: file.model.arch, layers: file.model.layers, input: file.input, classes: file.classes, dataset: file.dataset });
}

/** The tensors under their state_dict keys, with the metadata that rebuilds the model. */
export function safetensorsOf(file: WeightsFile, model: Sequential): Uint8Array {
  const tensors: Record<string, NamedTensor> = {};
  for (const p of [...model.namedParameters(), ...model.namedBuffers()]) tensors[p.key] = { shape: [...p.value.shape], data: p.value.data };
  const training = Object.fromEntries(Object.entries(file.training).filter(([, v]) => v !== undefined));
  return encodeSafetensors(tensors, { ...metadataOf(file), 'mnist_ts.training': JSON.stringify(training) });
}

const kb = (n: number) => `${Math.max(1, Math.round(n / 1024)).toLocaleString('en-US')} KB`;

export function runExport(weights: string, out: string, opts: ExportOptions): string[] {
  const format = exportFormat(out, opts.format);
  // every file it writes, checked and locked before the weights are read (model.py writes its .safetensors beside it)
  const outputs: OutputSpec[] = [{ flag: 'output', path: out }];
  if (format !== 'onnx' && format !== 'safetensors') outputs.push({ flag: 'output', path: join(dirname(out), `${basename(out, extname(out)) || basename(out)}.safetensors`) });
  const claim = claimOutputs(outputs, [{ what: 'the weights file', path: weights }]);
  try {
    return exportClaimed(weights, out, format);
  } finally {
    claim.release();
  }
}

function exportClaimed(weights: string, out: string, format: ReturnType<typeof exportFormat>): string[] {
  const { file, model } = readWeightsFile(weights);
  const input = `input [N, ${file.input.shape.join(', ')}] = (pixel / 255 - ${file.input.mean}) / ${file.input.std}`;
  if (format === 'onnx') {
    const bytes = toOnnx(exportModelOf(file, model), packageVersion());
    writeFileSafe(out, bytes);
    return [`wrote ${out} (ONNX opset ${OPSET}, ${kb(bytes.length)}): ${input}, output [N, ${file.classes.length}]`];
  }
  const bytes = safetensorsOf(file, model);
  if (format === 'safetensors') {
    writeFileSafe(out, bytes);
    return [`wrote ${out} (safetensors, ${kb(bytes.length)}): ${model.namedParameters().length + model.namedBuffers().length} tensors under their state_dict keys, the architecture in __metadata__`];
  }
  const stem = basename(out, extname(out)) || basename(out);
  const weightsName = `${stem}.safetensors`;
  // the script is made first (it refuses a layer it cannot write), then the tensors it loads are written, then it
  const script = pytorchScript({
    name: file.model.name, arch: file.model.arch, layers: file.model.layers, input: file.input, classes: file.classes,
    training: file.training, weightsName, metadata: metadataOf(file),
  });
  const beside = join(dirname(out), weightsName);
  writeFileSafe(beside, bytes);
  writeFileSafe(out, script);
  return [
    `wrote ${out} (PyTorch script) and ${beside} (its weights, ${kb(bytes.length)})`,
    `evaluate: python3 ${out} --data-dir DIR; train on: torchrun --nproc_per_node=2 ${out} train --data-dir DIR --epochs 3 --out more.safetensors`,
  ];
}

export async function main(argv = process.argv): Promise<void> {
  const program = exportProgram();
  program.action(async (weights: string, out: string, o: ExportOptions) => {
    await runCommand(async () => {
      for (const line of runExport(weights, out, o)) process.stdout.write(`${line}\n`);
    });
  });
  await program.parseAsync(argv);
}
