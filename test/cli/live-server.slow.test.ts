// mnist-serve and mnist-train --serve spawned as a user runs them: every failure to start is one
// line and exit 1, the URL is printed, Ctrl-C stops the server with exit 0.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../report/helpers.ts';
import { ROOT, expectOneLineError, runBin } from './helpers.ts';

const CNN_SMALL = join(FIXTURES, 'cnn-small.json');

describe('mnist-serve and mnist-train --serve, spawned', () => {
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('a busy port: one line, exit 1', () => {
    const r = runBin('mnist-serve', [CNN_SMALL, '--port', String(port)]);
    expectOneLineError(r, new RegExp(`^error: --port ${port}: the port is already in use on 127\\.0\\.0\\.1; hint: .*--port 0 picks a free one\\)$`));
    expect(r.stdout).toBe('');
  });

  it('a missing weights file, a bad port, an address not of this machine: one line each, exit 1', () => {
    expectOneLineError(runBin('mnist-serve', ['no-such.json', '--port', '0']), /^error: no-such\.json: no such file; hint: mnist-train writes weights\.json/);
    expectOneLineError(runBin('mnist-serve', [CNN_SMALL, '--port', '70000']), /^error: option '--port <n>' argument '70000' is invalid\. must be a port number/);
    expectOneLineError(runBin('mnist-serve', [CNN_SMALL, '--port', '0', '--host', '203.0.113.7']), /^error: --host 203\.0\.113\.7: not an address of this machine/);
  });

  it('mnist-train --serve on a busy port: one line, exit 1, no weights written', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mnist-serve-')), 'w.json');
    const r = runBin('mnist-train', ['--limit', '64', '--test-limit', '64', '--epochs', '1', '--out', out, '--serve', '--port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^error: --port ${port}: the port is already in use`))]);
    expect(existsSync(out)).toBe(false);
  });

  it('prints the URL, answers on it, and stops on Ctrl-C with exit 0', async () => {
    const child = spawn(process.execPath, [`${ROOT}bin/mnist-serve.mjs`, CNN_SMALL, '--port', '0'], { cwd: ROOT });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b) => {
        stdout += b;
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C to stop\)/.exec(stdout);
        if (m) resolve(m[1]);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    expect(stdout).toBe(`serving ${CNN_SMALL} at ${url} (Ctrl-C to stop)\n`);
    const r = await fetch(`${url}model.json`);
    expect(r.status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });
});
