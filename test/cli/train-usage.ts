// The usage errors mnist-train must refuse with one line and exit 1 before training: the fast
// suite spawns the first few (train-robust.test.ts), test:all the whole list (train-usage.slow.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { expectOneLineError, startBin, type Run } from './helpers.ts';

/** [extra mnist-train arguments, the one error line expected]; the files they name live in tmp. */
export function usageCases(tmp: string): [string[], RegExp][] {
  const at = (name: string) => join(tmp, name);
  mkdirSync(at('dir.jsonl'), { recursive: true });
  writeFileSync(at('plain.json'), '{"format": "mnist-ts-weights", "version": 1}');
  return [
    [['--resume', at('missing.json')], /^error: .*missing\.json: no such file/],
    [['--resume', tmp], /^error: .*: is a directory, expected a weights file/],
    [['--resume', at('plain.json')], /^error: .*plain\.json: model: expected an object, found nothing/],
    [['--out', '/proc/w.json'], /^error: --out \/proc\/w\.json: a system path \(\/proc\/w\.json\); mnist-ts writes only files of your own/],
    [['--log', at('m.txt')], /^error: --log .*m\.txt: expected a file name ending in \.jsonl or \.csv/],
    [['--log', at('dir.jsonl')], /^error: --log .*dir\.jsonl: is a directory, expected a file path/],
    [['--log-every', '5'], /^error: --log-every needs --log FILE/],
    [['--data-dir', at('plain.json')], /^error: --data-dir .*plain\.json: is a file, expected a directory/],
    [['--log-every', '0', '--log', at('x.jsonl')], /^error: option '--log-every <n>' argument '0' is invalid/],
    [['--epochs', '-3'], /^error: option '--epochs <n>' argument '-3' is invalid/],
    [['--lr', 'abc'], /--lr/],
    [['--resume'], /^error: option '--resume <file>' argument missing/],
  ];
}

/** Runs mnist-train on a 100-image subset with the given arguments and expects the one-line error. */
export async function expectUsageError(args: string[], pattern: RegExp): Promise<void> {
  const r: Run = await startBin('mnist-train', ['--limit', '100', ...args]).done;
  expectOneLineError(r, pattern);
  expect(r.stdout).not.toMatch(/^epoch/m);
}
