// Weights files and malformed safetensors files for the mnist-export / mnist-import command tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/rng.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { buildModel } from '../../src/nn/models.ts';
import { FORMAT, VERSION, serializeWeights, stateDict } from '../../src/weights/checkpoint.ts';

export const SMALL_ARCH = 'conv(4,3) relu maxpool(2) flatten linear(10)';

/** A fresh directory holding w.json: a small untrained model written as mnist-train would. */
export function weightsDir(arch = SMALL_ARCH): { dir: string; weights: string } {
  const dir = mkdtempSync(join(tmpdir(), 'interop-'));
  const layers = parseArch(arch);
  const model = buildModel(layers, new Rng(3));
  const weights = join(dir, 'w.json');
  writeFileSync(weights, serializeWeights({
    format: FORMAT, version: VERSION, createdAt: '2026-01-01T00:00:00.000Z',
    model: { name: 'arch', arch, layers }, input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 },
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], dataset: 'mnist',
    training: { optimizer: 'adam', lr: 0.001, scheduler: 'cosine-restarts', batchSize: 64, epochs: 1, seed: 1 }, metrics: [],
    state: stateDict(model),
  }));
  return { dir, weights };
}

/** A safetensors file whose 8-byte length claims `claimed` bytes of header. */
export function lyingLength(path: string, claimed: bigint): void {
  const h = Buffer.from('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  const b = Buffer.alloc(8 + h.length + 4);
  b.writeBigUInt64LE(claimed, 0);
  h.copy(b, 8);
  writeFileSync(path, b);
}

/** A safetensors file whose offsets say more data than the file holds (a truncated copy). */
export function lyingOffsets(path: string): void {
  const h = Buffer.from('{"0.weight":{"dtype":"F32","shape":[4,1,3,3],"data_offsets":[0,144]}}');
  const b = Buffer.alloc(8 + h.length + 16);
  b.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(b, 8);
  writeFileSync(path, b);
}
