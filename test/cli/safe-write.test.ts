// The one writer and the one output check (issue 11, cases 1, 2, 3 and 8), in process: a full
// disk simulated by a file system whose writes come up short then fail, FIFOs, symbolic links and
// devices in a temporary directory, outputs that are inputs, locks held by live and dead processes.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsLog } from '../../src/cli/metrics-log.ts';
import {
  OutputError, claimOutputs, cleanStaleTemps, lockPathFor, nodeFs, pidAlive, tempPathFor, writeFileSafe, type WriteFs,
} from '../../src/cli/safe-write.ts';

const tmp = mkdtempSync(join(tmpdir(), 'safe-write-'));
const at = (name: string) => join(tmp, name);
const GOOD = JSON.stringify({ format: 'mnist-ts-weights', state: Array.from({ length: 500 }, (_, i) => i / 7) });

/** A file system that accepts `room` bytes in all (in writes of at most `chunk`), then fails with ENOSPC. */
function fullDisk(room: number, chunk = 4096): WriteFs & { fsyncs: number } {
  let left = room;
  const fs = {
    ...nodeFs,
    fsyncs: 0,
    writeSync(fd: number, buf: Uint8Array, off: number, len: number): number {
      if (left === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      const n = Math.min(len, chunk, left);
      left -= n;
      return nodeFs.writeSync(fd, buf, off, n);
    },
    fsyncSync(fd: number) {
      fs.fsyncs++;
      nodeFs.fsyncSync(fd);
    },
  };
  return fs;
}

/** No temporary file of ours (or of the old writer) is left beside `name`. */
function noTemps(): string[] {
  return readdirSync(tmp).filter((n) => /\.(mnist-ts-tmp|tmp)$/.test(n));
}

afterAll(() => {
  // the locks of this process are released on exit; nothing else to undo
});

describe('writeFileSafe: a full disk never destroys the good file (case 1)', () => {
  it('short writes then ENOSPC: the old file is unchanged, the temporary file removed, the message names path, reason and progress', () => {
    writeFileSync(at('w.json'), GOOD);
    const big = 'x'.repeat(100_000);
    let err: unknown;
    try {
      writeFileSafe(at('w.json'), big, { label: '--out w.json', fs: fullDisk(30_000, 1000) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toBe(`--out w.json: cannot write it: no space left on the device after 30,000 of 100,000 bytes; ${at('w.json')} is unchanged`);
    expect((err as OutputError).hint).toMatch(/free some space/);
    expect(readFileSync(at('w.json'), 'utf8')).toBe(GOOD);
    expect(noTemps()).toEqual([]);
  });

  it('a write that makes no progress (returns 0) counts as a full disk, not as done', () => {
    const stuck: WriteFs = { ...nodeFs, writeSync: () => 0 };
    expect(() => writeFileSafe(at('w.json'), 'new text', { fs: stuck })).toThrow(/no space left on the device after 0 of 8 bytes/);
    expect(readFileSync(at('w.json'), 'utf8')).toBe(GOOD);
    expect(noTemps()).toEqual([]);
  });

  it('a failing fsync (EIO) keeps the old file and removes the temporary one', () => {
    const eio: WriteFs = { ...nodeFs, fsyncSync: () => { throw Object.assign(new Error('EIO'), { code: 'EIO', syscall: 'fsync' }); } };
    expect(() => writeFileSafe(at('w.json'), 'new text', { fs: eio })).toThrow(/input\/output error/);
    expect(readFileSync(at('w.json'), 'utf8')).toBe(GOOD);
    expect(noTemps()).toEqual([]);
  });

  it('many short writes that all succeed give the complete file, fsynced once before the rename', () => {
    const text = `${'ünïcödé ✓ '.repeat(5000)}end`;
    const fs = fullDisk(1e9, 7);
    writeFileSafe(at('w.json'), text, { fs });
    expect(readFileSync(at('w.json'), 'utf8')).toBe(text);
    expect(fs.fsyncs).toBe(1);
    expect(noTemps()).toEqual([]);
  });

  it('keeps the permissions of the file it replaces', () => {
    writeFileSync(at('private.json'), 'old', { mode: 0o600 });
    writeFileSafe(at('private.json'), 'new');
    expect(statSync(at('private.json')).mode & 0o777).toBe(0o600);
  });

  it('MetricsLog: a full disk during --log names the log and the reason (no empty path)', () => {
    const log = new MetricsLog(at('log.jsonl'), { fs: fullDisk(10) });
    expect(() => log.epoch({ epoch: 1, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, seconds: 1, samplesPerSecond: 1, lr: 0.1 }))
      .toThrow(`--log ${at('log.jsonl')}: cannot write it: no space left on the device`);
    log.close();
  });
});

describe('special files are never replaced (case 2)', () => {
  const fifo = at('fifo');
  spawnSync('mkfifo', [fifo]);

  it('a FIFO is refused by the output check and by the writer, and stays a FIFO', () => {
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(() => claimOutputs([{ flag: '--out', path: fifo }])).toThrow(`--out ${fifo}: a FIFO (named pipe), not a regular file; it was left as it is`);
    expect(() => writeFileSafe(fifo, 'x')).toThrow(/a FIFO \(named pipe\), not a regular file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it.each(['/dev/full', '/dev/null', '/dev/stdout', '/dev/new-file'])('%s is refused and left as it is', (dev) => {
    const before = existsSync(dev) ? statSync(dev).mode : undefined;
    expect(() => claimOutputs([{ flag: '--out', path: dev }])).toThrow(OutputError);
    expect(existsSync(dev) ? statSync(dev).mode : undefined).toBe(before);
    if (before !== undefined) expect(statSync(dev).isFile()).toBe(false);
  });

  it('a symbolic link to a regular file is written through: the target gets the new text, the link stays a link', () => {
    writeFileSync(at('target.json'), 'old');
    symlinkSync(at('target.json'), at('link.json'));
    claimOutputs([{ flag: '--out', path: at('link.json') }]).release();
    writeFileSafe(at('link.json'), 'new');
    expect(lstatSync(at('link.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(at('target.json'), 'utf8')).toBe('new');
  });

  it('a symbolic link to a FIFO, or to nothing, is refused', () => {
    symlinkSync(fifo, at('link-to-fifo'));
    symlinkSync(at('missing'), at('dangling'));
    expect(() => claimOutputs([{ flag: '--out', path: at('link-to-fifo') }])).toThrow(/a FIFO \(named pipe\), not a regular file/);
    expect(() => claimOutputs([{ flag: '--out', path: at('dangling') }])).toThrow(/a symbolic link to a missing file/);
    expect(() => writeFileSafe(at('dangling'), 'x')).toThrow(/a symbolic link to a missing file/);
    expect(existsSync(at('missing'))).toBe(false);
  });

  it('a directory is refused for a file output; a file is refused for a directory output', () => {
    mkdirSync(at('adir'));
    expect(() => claimOutputs([{ flag: '--report', path: at('adir') }])).toThrow(/is a directory, expected a file path/);
    writeFileSync(at('afile'), 'x');
    expect(() => claimOutputs([{ flag: '--errors', path: at('afile'), kind: 'dir' }])).toThrow(/not a regular file|expected a directory/);
    expect(() => claimOutputs([{ flag: '--errors', path: join(at('afile'), 'sub'), kind: 'dir' }])).toThrow(/is not a directory/);
  });
});

describe('an output is never an input or another output (case 3)', () => {
  writeFileSync(at('weights.json'), GOOD);

  it('the same file spelled differently, through a symlink or a hard link, is refused', () => {
    linkSync(at('weights.json'), at('hard.json'));
    symlinkSync(at('weights.json'), at('soft.json'));
    for (const path of [at('weights.json'), `${tmp}/./weights.json`, at('hard.json'), at('soft.json')]) {
      expect(() => claimOutputs([{ flag: '--report', path }], [{ what: 'the weights file', path: at('weights.json') }]))
        .toThrow(/is also the weights file .* this command reads; writing it would destroy it/);
    }
    expect(readFileSync(at('weights.json'), 'utf8')).toBe(GOOD);
  });

  it('--explain onto the picture, or onto the weights, is refused', () => {
    writeFileSync(at('victim.png'), 'png bytes');
    const inputs = [{ what: 'the weights file', path: at('weights.json') }, { what: 'a picture', path: at('victim.png') }];
    expect(() => claimOutputs([{ flag: '--explain', path: at('victim.png') }], inputs)).toThrow(/--explain .*victim\.png: is also a picture/);
    expect(() => claimOutputs([{ flag: '--explain', path: at('weights.json') }], inputs)).toThrow(/is also the weights file/);
  });

  it('two outputs naming one file are refused, existing or not (--out X --report X, --log X --out X)', () => {
    expect(() => claimOutputs([{ flag: '--out', path: at('same.json') }, { flag: '--report', path: `${tmp}/../${tmp.split('/').pop()}/same.json` }]))
      .toThrow(/--report .*same\.json: is the same file as --out .*same\.json; one would overwrite the other/);
    expect(() => claimOutputs([{ flag: '--out', path: at('weights.json') }, { flag: '--log', path: at('hard.json'), kind: 'append' }]))
      .toThrow(/--log .*: is the same file as --out/);
    expect(existsSync(at('same.json'))).toBe(false);
  });

  it('a resumed run may rewrite the file it resumed, but no other output may', () => {
    const inputs = [{ what: 'the file resumed', path: at('weights.json'), mayBe: ['--out'] }];
    claimOutputs([{ flag: '--out', path: at('weights.json') }], inputs).release();
    expect(() => claimOutputs([{ flag: '--report', path: at('weights.json') }], inputs)).toThrow(/is also the file resumed/);
  });
});

describe('locks and leftovers of other runs (case 8)', () => {
  /** The PID of a process that has exited. */
  function deadPid(): number {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(r.stdout);
    expect(pidAlive(pid)).toBe(false);
    return pid;
  }

  it('an output another live run is writing is refused, naming its PID; released, it can be claimed', async () => {
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(lockPathFor(at('busy.json')), `${other.pid}\n`);
      expect(() => claimOutputs([{ flag: '--out', path: at('busy.json') }])).toThrow(`--out ${at('busy.json')}: another run (PID ${other.pid}) is writing this file`);
    } finally {
      other.kill();
    }
    await new Promise((r) => other.on('exit', r));
    const claim = claimOutputs([{ flag: '--out', path: at('busy.json') }]);
    expect(readFileSync(lockPathFor(at('busy.json')), 'utf8')).toBe(`${process.pid}\n`);
    claim.release();
    expect(existsSync(lockPathFor(at('busy.json')))).toBe(false);
  });

  it('two claims of one output in a row: the second waits for the first to release', () => {
    const a = claimOutputs([{ flag: '--out', path: at('twice.json') }]);
    // same process: the lock is ours, so a second claim is not refused (another process would be)
    expect(readFileSync(lockPathFor(at('twice.json')), 'utf8').trim()).toBe(String(process.pid));
    a.release();
  });

  it('the lock of a dead process is taken over', () => {
    writeFileSync(lockPathFor(at('stale.json')), `${deadPid()}\n`);
    const claim = claimOutputs([{ flag: '--out', path: at('stale.json') }]);
    expect(readFileSync(lockPathFor(at('stale.json')), 'utf8')).toBe(`${process.pid}\n`);
    claim.release();
  });

  it('temporary files of killed runs (kill -9 during a save) are removed when the output is claimed; a live run\'s are kept', () => {
    const dead = deadPid();
    const other = spawn('sleep', ['30']);
    try {
      const leftovers = [tempPathFor(at('w.json'), dead), at(`.w.json.${dead}.tmp`)];
      const live = tempPathFor(at('w.json'), other.pid!);
      for (const f of [...leftovers, live]) writeFileSync(f, '');
      claimOutputs([{ flag: '--out', path: at('w.json') }]).release();
      for (const f of leftovers) expect(existsSync(f)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(cleanStaleTemps(tmp, 'w.json')).toBe(0);
    } finally {
      other.kill();
    }
  });
});
