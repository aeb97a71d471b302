// mnist-import: a safetensors file (written by mnist-export, by model.py, or by PyTorch's
// save_file(model.state_dict())) to a weights file the other commands read.
import { basename, dirname, extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { MnistError } from '../engine/errors.ts';
import { DATASETS, type DatasetName } from '../data/sources.ts';
import { weightsFromSafetensors } from '../interop/import.ts';
import { decodeSafetensors } from '../interop/safetensors.ts';
import { serializeWeights } from '../weights/checkpoint.ts';
import { oneLineUsageErrors, runCommand } from './errors.ts';
import { claimOutputs, writeFileSafe } from './safe-write.ts';
import { MAX_WEIGHTS_BYTES } from '../weights/limits.ts';
import { readInputFile } from './read-input.ts';

export class ImportError extends MnistError {}

export interface ImportOptions {
  out?: string;
  arch?: string;
  dataset: DatasetName;
  format?: 'safetensors';
}

export function importProgram(): Command {
  return oneLineUsageErrors(new Command('mnist-import'))
    .description('Read a safetensors file (from mnist-export, model.py, or PyTorch\'s save_file(model.state_dict())) into a weights file.')
    .argument('<file>', 'the .safetensors file')
    .option('--out <file>', 'weights file to write (default: the input\'s name with .json)')
    .option('--arch <spec>', 'the architecture, as for mnist-train --arch (default: the one in the file\'s metadata)')
    .addOption(new Option('--dataset <name>', 'input size, normalisation and classes for a file without mnist-ts metadata').choices(Object.keys(DATASETS)).default('mnist'))
    .addOption(new Option('--format <name>', 'format, whatever the extension').choices(['safetensors']));
}

export function runImport(path: string, opts: ImportOptions): string[] {
  if (opts.format === undefined && extname(path).toLowerCase() !== '.safetensors') {
    throw new ImportError(`${path}: mnist-import reads .safetensors files`, 'pass --format safetensors if it is one under another name');
  }
  const out = opts.out ?? join(dirname(path), `${basename(path, extname(path))}.json`);
  const claim = claimOutputs([{ flag: '--out', path: out }], [{ what: 'the safetensors file', path }]);
  try {
    return importClaimed(path, out, opts);
  } finally {
    claim.release();
  }
}

function importClaimed(path: string, out: string, opts: ImportOptions): string[] {
  const bytes = readInputFile(path, { what: 'a .safetensors file', max: MAX_WEIGHTS_BYTES, error: (m, h) => new ImportError(m, h) });
  const st = decodeSafetensors(bytes, path);
  const ds = DATASETS[opts.dataset];
  const file = weightsFromSafetensors(st, {
    label: path,
    arch: opts.arch,
    defaults: { dataset: ds.name, input: { shape: [1, ds.rows, ds.cols], mean: ds.mean, std: ds.std }, classes: ds.classes },
  });
  writeFileSafe(out, serializeWeights(file));
  const params = Object.values(file.state).reduce((n, t) => n + t.data.length, 0);
  const converted = [...new Set(Object.values(st.dtypes))].filter((d) => d !== 'F32');
  return [
    `wrote ${out}: ${file.model.arch ?? file.model.name}, ${params.toLocaleString('en-US')} parameters from ${path}` +
      `${converted.length ? ` (${converted.join(', ')} converted to float32)` : ''}`,
  ];
}

export async function main(argv = process.argv): Promise<void> {
  const program = importProgram();
  program.action(async (path: string, o: ImportOptions) => {
    await runCommand(async () => {
      for (const line of runImport(path, o)) process.stdout.write(`${line}\n`);
    });
  });
  await program.parseAsync(argv);
}
