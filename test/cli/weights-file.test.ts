// readWeightsFile: the file-level checks before any parsing (missing, directory, empty, too big,
// not a regular file, binary, not UTF-8), and the file name in front of every message.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWeightsFile } from '../../src/cli/weights-file.ts';
import { thrownMessage } from './helpers.ts';
import { MAX_WEIGHTS_BYTES } from '../../src/weights/limits.ts';
import { Rng } from '../../src/engine/rng.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { CheckpointError, FORMAT, VERSION, serializeWeights, stateDict } from '../../src/weights/checkpoint.ts';

const tmp = mkdtempSync(join(tmpdir(), 'weights-file-'));
const specs = mlpSpecs([4], 784, 10);
const good = serializeWeights({
  format: FORMAT, version: VERSION, createdAt: 'now', model: { name: 'mlp', layers: specs },
  input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 }, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  dataset: 'mnist', training: {}, metrics: [], state: stateDict(buildModel(specs, new Rng(1))),
});

function file(name: string, content: string | Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const message = (path: string, label?: string) => thrownMessage(() => readWeightsFile(path, { label }), CheckpointError);

describe('readWeightsFile', () => {
  it('loads a good file, also with a UTF-8 byte-order mark and leading white space', () => {
    expect(readWeightsFile(file('good.json', good)).model.namedParameters()).toHaveLength(4);
    expect(readWeightsFile(file('bom.json', `\ufeff\n  ${good}`)).file.model.name).toBe('mlp');
  });

  it('names the file (or the given label) in front of the field', () => {
    const bad = file('bad.json', good.replace('"format": "mnist-ts-weights"', '"format": "other"'));
    expect(message(bad)).toMatch(new RegExp(`^${bad}: format: expected "mnist-ts-weights"`));
    expect(message(bad, '--resume bad.json')).toMatch(/^--resume bad\.json: format: /);
  });

  it.each<[string, () => string, RegExp]>([
    ['a missing file', () => join(tmp, 'nope.json'), /nope\.json: no such file$/],
    ['a path through a file', () => join(file('plain.txt', 'x'), 'w.json'), /w\.json: no such file \(a part of the path is not a directory\)$/],
    ['a directory', () => tmp, /: is a directory, expected a weights file$/],
    ['an empty file', () => file('empty.json', ''), /empty\.json: the file is empty$/],
    ['white space only', () => file('ws.json', '  \n\n'), /ws\.json: the file is empty \(only white space\)$/],
    ['binary data', () => file('img.json', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])), /img\.json: not a weights file: expected a JSON object, the file starts with bytes 89 50 4e 47 0d 0a 1a 0a$/],
    ['text that is not JSON', () => file('notes.json', 'hello world'), /notes\.json: not a weights file: expected a JSON object, the file starts with "hello wo"$/],
    ['invalid UTF-8 inside', () => file('latin1.json', new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])), /latin1\.json: not a text file \(invalid UTF-8\)$/],
    ['a file past the size limit (sparse: nothing is read)', () => {
      const p = join(tmp, 'huge.json');
      const fd = openSync(p, 'w');
      ftruncateSync(fd, MAX_WEIGHTS_BYTES + 1);
      closeSync(fd);
      return p;
    }, /huge\.json: 536,870,913 bytes is past the limit of 512 MB for a weights file$/],
    ['a FIFO (would block forever)', () => {
      const p = join(tmp, 'fifo.json');
      execFileSync('mkfifo', [p]);
      return p;
    }, /fifo\.json: not a regular file, expected a weights file$/],
    ['/dev/zero (endless)', () => '/dev/zero', /^\/dev\/zero: not a regular file/],
  ])('refuses %s in one line', (_, make, pattern) => {
    const msg = message(make());
    expect(msg).toMatch(pattern);
    expect(msg).not.toMatch(/\n/);
  });
});
