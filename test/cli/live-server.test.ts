// The live page's server, in-process: only its routes exist, `..` and foreign Host headers are
// refused, bodies are capped, a busy port is one ServeError, the model and the bundled script
// are what the page needs, and --serve's events reach a listening page. One spawned mnist-serve
// shows a bad weights file is one line and exit 1 (more spawns in live-server.slow.test.ts).
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeGreyPng } from '../../src/data/image-io.ts';
import { preprocessImage } from '../../src/data/image.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Flatten } from '../../src/nn/flatten.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { readWeights } from '../../src/weights/checkpoint.ts';
import { ServeError, liveParams, startLiveServer, type LiveServer } from '../../src/cli/live-server.ts';
import { Rng } from '../../src/engine/rng.ts';
import { buildModel } from '../../src/nn/models.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { startServe } from '../../src/cli/serve.ts';
import { watchTraining } from '../../src/cli/train-serve.ts';
import type { LiveModel } from '../../src/live/protocol.ts';
import { FIXTURES, mnistTest } from '../report/helpers.ts';
import { expectOneLineError, runBin } from './helpers.ts';

const CNN_SMALL = join(FIXTURES, 'cnn-small.json');

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A raw request (no URL normalisation, so `..` reaches the server as typed). */
function get(port: number, path: string, o: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('live server (mnist-serve)', () => {
  let server: LiveServer;
  const { model } = readWeights(readFileSync(CNN_SMALL, 'utf8'));

  beforeAll(async () => {
    server = await startServe(CNN_SMALL, { host: '127.0.0.1', port: 0 });
  });
  afterAll(() => server?.close());

  it('serves the page with a CSP that allows nothing from outside, and the bundled engine', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await get(server.port, '/');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval';/); // WebAssembly, never eval()
    expect(csp).toMatch(/connect-src 'self';/);
    expect(csp).not.toMatch(/https?:|\*/);
    expect(page.body).toContain('<script src="/app.js"></script>');
    expect(page.body).not.toMatch(/https?:\/\//);
    const app = await get(server.port, '/app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toMatch(/^text\/javascript/);
    // the engine's own code, not a second implementation
    expect(app.body).toContain('function conv2dForward');
    expect(app.body).toContain('function preprocessImage');
    expect(app.body).not.toMatch(/\brequire\(|from\s*["']node:/);
  });

  it("serves the model with the file's parameters, bit for bit", async () => {
    const r = await get(server.port, '/model.json');
    expect(r.status).toBe(200);
    const info = JSON.parse(r.body) as LiveModel;
    expect(info.mode).toBe('serve');
    expect(info.model.layers.map((l) => l.type)).toEqual(model.layers.map((l) => l.type));
    for (const p of model.namedParameters()) {
      const b = Buffer.from(info.state.params[p.key].b64, 'base64');
      expect(Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4))).toEqual(Array.from(p.value.data));
    }
  });

  it('sends batch norm\'s running statistics with the parameters: the page builds its layers from them', () => {
    const bn = buildModel(parseArch('conv(2,3) batchnorm relu flatten linear(10)'), new Rng(3));
    bn.namedBuffers()[0].value.data.set([0.25, -0.5]);
    const sent = liveParams(bn);
    expect(Object.keys(sent)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '4.weight', '4.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
    const b = Buffer.from(sent['1.running_mean'].b64, 'base64');
    expect(Array.from(new Float32Array(b.buffer, b.byteOffset, 2))).toEqual([0.25, -0.5]);
  });

  it('answers 404 for anything but its routes, and refuses .. paths', async () => {
    for (const path of ['/nope', '/weights.json', '/app.js/x', '/index.html', '/src/live/app.ts', '/etc/passwd']) {
      expect((await get(server.port, path)).status, path).toBe(404);
    }
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/x/..%2fpackage.json', '/..\\package.json']) {
      const r = await get(server.port, path);
      expect(r.status, path).toBe(400);
      expect(r.body).toMatch(/\.\. are refused/);
    }
    expect((await get(server.port, '/', { method: 'DELETE' })).status).toBe(405);
    expect((await get(server.port, '/events')).status).toBe(404); // no training here
  });

  it('refuses a Host header other than its own (DNS rebinding)', async () => {
    expect((await get(server.port, '/', { headers: { host: 'evil.example:80' } })).status).toBe(421);
    expect((await get(server.port, '/', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it("prepares a dropped picture exactly as mnist-predict does", async () => {
    const t = mnistTest();
    const png = encodeGreyPng(Uint8Array.from(t.images.subarray(0, 784), (v) => 255 - v), 28, 28);
    const r = await get(server.port, '/prepare', { method: 'POST', body: png, headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).pixels).toEqual(Array.from(preprocessImage(decodeImage(png)).pixels!));
    const bad = await get(server.port, '/prepare', { method: 'POST', body: Buffer.from('not a picture') });
    expect(JSON.parse(bad.body)).toEqual({ error: 'not a PNG or JPEG image' });
  });

  it('refuses oversized bodies, declared or streamed, and bodies where none belongs', async () => {
    const small = await startLiveServer({ title: 't', port: 0, maxBody: 1000, model: () => ({ mode: 'serve' }) as LiveModel });
    try {
      const declared = await get(small.port, '/prepare', { method: 'POST', body: Buffer.alloc(1001) });
      expect(declared.status).toBe(413);
      expect(declared.body).toMatch(/the limit is 1000 bytes/);
      // chunked: no length up front, the count stops it
      const streamed = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: small.port, path: '/prepare', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        for (let i = 0; i < 5; i++) req.write(Buffer.alloc(300));
        req.end();
      });
      expect(streamed).toBe(413);
      expect((await get(small.port, '/', { method: 'GET', body: Buffer.alloc(10), headers: { 'content-length': '10' } })).status).toBe(413);
      expect((await get(small.port, '/prepare', { method: 'POST', body: Buffer.alloc(999) })).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('refuses a busy port with one ServeError naming it', async () => {
    const err = await startServe(CNN_SMALL, { host: '127.0.0.1', port: server.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServeError);
    expect((err as ServeError).message).toBe(`--port ${server.port}: the port is already in use on 127.0.0.1`);
    expect((err as ServeError).hint).toMatch(/--port 0 picks a free one/);
  });

  it('mnist-serve with a file that is not a weights file: one line, exit 1', () => {
    const r = runBin('mnist-serve', [join(FIXTURES, '../../../package.json'), '--port', '0']);
    expectOneLineError(r, /^error: .*package\.json: format: expected "mnist-ts-weights" \(is this a weights file written by mnist-train\?\), found nothing$/);
    expect(r.stdout).toBe(''); // no URL: nothing was served
  });
});

describe('live server (mnist-train --serve)', () => {
  it('sends curve points, epoch records, weights and the end to a listening page', async () => {
    const model = new Sequential(new Flatten(), new Linear(784, 10));
    const t = mnistTest();
    const watch = await watchTraining({
      host: '127.0.0.1', port: 0, model, info: { name: 'tiny', arch: 'flatten linear(10)', layers: model.layers.map((l) => l.spec()) },
      input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 }, classes: [...'0123456789'], dataset: 'mnist',
      test: { ...t, count: 50 }, epochs: 1, batches: 2, out: 'w.json', history: [],
    });
    try {
      const port = Number(new URL(watch.url).port);
      const info = JSON.parse((await get(port, '/model.json')).body) as LiveModel;
      expect(info.mode).toBe('train');
      expect(info.training!.samples.length).toBe(6);
      expect(new Set(info.training!.samples.map((s) => s.label)).size).toBe(6);
      // listen, then train two batches and end the epoch
      const events: string[] = [];
      const got = new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (c: string) => {
            buf += c;
            if (!/event: done\n/.test(buf)) return;
            events.push(...[...buf.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]));
            res.destroy();
            resolve();
          });
        }).on('error', reject).end();
      });
      await new Promise((r) => setTimeout(r, 100));
      model.layers[1].parameters()[0].value.data[0] = 42;
      watch.step({ epoch: 1, batch: 1, batches: 2, loss: 2, correct: 1, size: 4, lr: 1e-3 });
      watch.step({ epoch: 1, batch: 2, batches: 2, loss: 1, correct: 3, size: 4, lr: 1e-3 });
      watch.epoch({ epoch: 1, trainLoss: 1.5, trainAccuracy: 0.5, testLoss: 1.4, testAccuracy: 0.6, seconds: 1, samplesPerSecond: 8, lr: 1e-3 });
      watch.done(false, 1);
      await got;
      // a slow machine may cross the 250 ms point or 2 s weights interval between the two steps
      expect(events[0]).toBe('sync');
      expect(events.slice(-3)).toEqual(['epoch', 'state', 'done']);
      const middle = events.slice(1, -3);
      expect(middle.filter((e) => e === 'point').length).toBeGreaterThanOrEqual(1);
      expect(middle.every((e) => e === 'point' || e === 'state')).toBe(true);
      const after = JSON.parse((await get(port, '/model.json')).body) as LiveModel;
      // a point at the epoch's last batch always; it holds the mean over the batches since the last point
      const p = (step: number, loss: number, accuracy: number) => ({ step, epoch: 1, batch: step, batches: 2, loss, accuracy });
      expect([[p(2, 1.5, 0.5)], [p(1, 2, 0.25), p(2, 1, 0.75)]]).toContainEqual(after.training!.points);
      expect(after.state.version).toBe(events.filter((e) => e === 'state').length);
      const w = Buffer.from(after.state.params['1.weight'].b64, 'base64');
      expect(new Float32Array(w.buffer, w.byteOffset, 1)[0]).toBe(42);
      expect(after.training!.done).toEqual({ stopped: false, epoch: 1 });
    } finally {
      await watch.close();
    }
  });
});
