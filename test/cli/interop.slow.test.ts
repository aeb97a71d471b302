// mnist-export / mnist-import from the command line: the round trip through safetensors bit for
// bit, the PyTorch script pair, and every bad input as one line, exit 1, nothing half-written.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWeights } from '../../src/weights/checkpoint.ts';
import { compare, testImages } from '../interop/helpers.ts';
import { ROOT, expectOneLineError, runBin } from './helpers.ts';
import { lyingLength, lyingOffsets, weightsDir } from './interop-helpers.ts';

const FIXTURE = join(ROOT, 'test/fixtures/interop/pytorch-small.safetensors');
const FIXTURE_ARCH = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/interop/pytorch-small.json'), 'utf8')) as { arch: string }).arch;

describe('mnist-export / mnist-import round trips', () => {
  it('weights.json -> .safetensors -> weights.json keeps every parameter bit for bit, with no --arch', () => {
    const { dir, weights } = weightsDir();
    const st = join(dir, 'm.safetensors');
    expect(runBin('mnist-export', [weights, st]).code).toBe(0);
    const r = runBin('mnist-import', [st, '--out', join(dir, 'back.json')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/wrote .*back\.json: conv\(4,3\) relu maxpool\(2\) flatten linear\(10\), 6,810 parameters/);
    const a = readWeights(readFileSync(weights, 'utf8')), b = readWeights(readFileSync(join(dir, 'back.json'), 'utf8'));
    expect(b.file.state).toEqual(a.file.state);
    expect(b.file.model).toEqual(a.file.model);
    expect(b.file.training).toEqual(a.file.training);
    // mnist-eval and mnist-predict read it like any weights file
    expect(runBin('mnist-export', [join(dir, 'back.json'), join(dir, 'back.onnx')]).code).toBe(0);
  });

  it('a cnn-bn trained by mnist-train: its .onnx gives our eval-mode logits; .safetensors -> mnist-import keeps the running statistics', async () => {
    const { dir } = weightsDir();
    const w = join(dir, 'bn.json');
    const t = runBin('mnist-train', ['--model', 'cnn-bn', '--epochs', '1', '--limit', '320', '--test-limit', '100', '--batch-size', '32', '--quiet', '--out', w]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    const e = runBin('mnist-export', [w, join(dir, 'bn.onnx')]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toMatch(/^wrote .*bn\.onnx \(ONNX opset 13/);
    const { file, model } = readWeights(readFileSync(w, 'utf8'));
    expect(file.state['1.num_batches_tracked'].data).toEqual([10]);
    const { x } = await testImages(300);
    const r = await compare(model.eval(), readFileSync(join(dir, 'bn.onnx')), x, 300);
    expect(r.mismatches).toBe(0);
    expect(r.maxDiff).toBeLessThan(1e-4);
    const s = runBin('mnist-export', [w, join(dir, 'bn.safetensors')]);
    expect(s.stdout).toContain('23 tensors under their state_dict keys');
    expect(runBin('mnist-import', [join(dir, 'bn.safetensors'), '--out', join(dir, 'bn-back.json')]).code).toBe(0);
    expect(readWeights(readFileSync(join(dir, 'bn-back.json'), 'utf8')).file.state).toEqual(file.state);
  }, 120_000);

  it('model.py comes with its .safetensors beside it', () => {
    const { dir, weights } = weightsDir();
    const r = runBin('mnist-export', [weights, join(dir, 'net.py')]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['net.py', 'net.safetensors', 'w.json']);
    const py = readFileSync(join(dir, 'net.py'), 'utf8');
    expect(py).toContain('WEIGHTS = os.path.join(HERE, "net.safetensors")');
    expect(py).toContain('nn.Conv2d(in_channels=1, out_channels=4, kernel_size=(3, 3)');
  });

  it('a PyTorch-written file imports with --arch', () => {
    const { dir } = weightsDir();
    const r = runBin('mnist-import', [FIXTURE, '--arch', FIXTURE_ARCH, '--out', join(dir, 'theirs.json')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readWeights(readFileSync(join(dir, 'theirs.json'), 'utf8')).file.model.arch).toBe(FIXTURE_ARCH);
  });
});

describe('bad inputs: one line, exit 1, nothing written', () => {
  const exportCases: [string, (dir: string, weights: string) => string[], RegExp][] = [
    ['a truncated .onnx target (no format in the name)', (d, w) => [w, join(d, 'model.onn')], /model\.onn: the extension \.onn names no format mnist-export writes; hint: name the file model\.onnx/],
    ['a target without an extension', (d, w) => [w, join(d, 'model')], /the file name has no extension to tell the format/],
    ['a target in a missing directory', (d, w) => [w, join(d, 'nope', 'model.onnx')], /output .*nope\/model\.onnx: directory .*nope does not exist/],
    ['a directory as the target', (d, w) => { mkdirSync(join(d, 'x.onnx')); return [w, join(d, 'x.onnx')]; }, /x\.onnx: is a directory, expected a file path/],
    ['the weights file itself as the target', (_d, w) => [w, w, '--format', 'onnx'], /output .*w\.json: is also the weights file .* this command reads; writing it would destroy it/],
    ['a weights file that is not one', (d) => [join(ROOT, 'package.json'), join(d, 'model.onnx')], /package\.json: (format|not a weights file)/],
  ];
  for (const [name, args, pattern] of exportCases) {
    it(`mnist-export: ${name}`, () => {
      const { dir, weights } = weightsDir();
      const argv = args(dir, weights);
      const before = readdirSync(dir).sort();
      expectOneLineError(runBin('mnist-export', argv), pattern);
      expect(readdirSync(dir).sort()).toEqual(before);
    });
  }

  const importCases: [string, (dir: string) => string[], RegExp][] = [
    ['a header that lies about its offsets (a truncated file)', (d) => { lyingOffsets(join(d, 'cut.safetensors')); return [join(d, 'cut.safetensors'), '--arch', 'conv(4,3) relu flatten linear(10)']; },
      /cut\.safetensors: tensor "0\.weight": data_offsets \[0, 144\] run past the end of the data \(16 bytes\)/],
    ['a header that claims 10^12 bytes', (d) => { lyingLength(join(d, 'big.safetensors'), 10n ** 12n); return [join(d, 'big.safetensors')]; }, /the header claims 1,000,000,000,000 bytes/],
    ['keys that do not match the --arch', () => [FIXTURE, '--arch', 'conv(4,3,padding=1) relu maxpool(2) flatten linear(10)'], /pytorch-small\.safetensors: tensor "3\.(weight|bias)": no such parameter in the model.*hint: was the file saved from a model with this --arch/],
    ['shapes that do not match the --arch', () => [FIXTURE, '--arch', FIXTURE_ARCH.replace('conv(8,3', 'conv(8,5')], /pytorch-small\.safetensors: tensor "3\.weight" shape: expected \[8, 2, 5, 5\]/],
    ['a PyTorch file without --arch', () => [FIXTURE], /does not say which architecture its tensors belong to.*hint: pass --arch/],
    ['a file that is not .safetensors', () => [join(ROOT, 'package.json')], /package\.json: mnist-import reads \.safetensors files/],
    ['a JSON file passed as safetensors', () => [join(ROOT, 'package.json'), '--format', 'safetensors'], /package\.json: the header claims [\d,]+ bytes/],
    ['a missing file', (d) => [join(d, 'none.safetensors')], /none\.safetensors: no such file/],
  ];
  for (const [name, args, pattern] of importCases) {
    it(`mnist-import: ${name}`, () => {
      const { dir } = weightsDir();
      const out = join(dir, 'out.json');
      expectOneLineError(runBin('mnist-import', [...args(dir), '--out', out]), pattern);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    });
  }

  it('mnist-import keeps an existing --out file when the input is bad', () => {
    const { dir, weights } = weightsDir();
    copyFileSync(weights, join(dir, 'keep.json'));
    const before = readFileSync(join(dir, 'keep.json'));
    expectOneLineError(runBin('mnist-import', [FIXTURE, '--out', join(dir, 'keep.json')]), /does not say which architecture/);
    expect(readFileSync(join(dir, 'keep.json'))).toEqual(before);
  });
});
