// Downloads one file over HTTP(S): streamed to a temp file beside the target, md5-verified, then
// renamed into place, so a partial or corrupt download never sits under the real name.
import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DataError } from './errors.ts';

/** Download progress; `total` is the Content-Length when the server sent one. */
export interface Progress { file: string; url: string; received: number; total?: number }

export interface DownloadOptions {
  /** Expected md5 (hex) of the bytes served; a mismatch fails the download. */
  md5: string;
  /** Give up when the connection is silent this long (default 30 s). */
  timeoutMs?: number;
  /** Give up past this many bytes (default 64 MB), so an endless body cannot fill the disk. */
  maxBytes?: number;
  onProgress?: (p: Progress) => void;
}

const MAX_REDIRECTS = 5;

/** Downloads `url` to `dest`; throws a DataError `<url>: <reason>` and leaves no file behind on failure. */
export async function download(url: string, dest: string, opts: DownloadOptions): Promise<void> {
  const { md5, timeoutMs = 30_000, maxBytes = 64 * 1024 * 1024, onProgress } = opts;
  const file = basename(dest);
  const tmp = join(dirname(dest), `.${file}.${process.pid}.${Date.now()}.part`);
  let timedOut = false;
  let received = 0;
  let total: number | undefined;
  let out: FileHandle | undefined;
  let piped = false;
  try {
    // Opened before the request, so the body is piped the moment it arrives and a failure's
    // cleanup below always finds the file (a lazily opened stream could create it afterwards).
    out = await open(tmp, 'w');
    const res = await get(url, timeoutMs, () => (timedOut = true));
    const length = Number(res.headers['content-length']);
    total = Number.isFinite(length) ? length : undefined;
    const hash = createHash('md5');
    onProgress?.({ file, url, received, total });
    piped = true; // from here the write stream owns the handle and closes it
    await pipeline(
      res,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          if (received > maxBytes) throw new Error(`body exceeds ${maxBytes} bytes`);
          hash.update(chunk);
          onProgress?.({ file, url, received, total });
          yield chunk;
        }
      },
      out.createWriteStream(),
    );
    if (total !== undefined && received !== total) throw new Error('body ended early');
    const found = hash.digest('hex');
    if (found !== md5) throw new Error(`checksum mismatch: expected md5 ${md5}, found ${found}`);
    await rename(tmp, dest);
  } catch (e) {
    if (!piped) await out?.close();
    await rm(tmp, { force: true });
    let reason = (e as Error).message;
    if (timedOut) reason = `timed out (no data for ${timeoutMs / 1000} s)`;
    else if (total !== undefined && received < total) reason = `connection dropped after ${received} of ${total} bytes (${reason})`;
    throw new DataError(`${url}: ${reason}`);
  }
}

/** GET with redirects; resolves with a 200 response whose body is not yet read. */
function get(url: string, timeoutMs: number, onTimeout: () => void, redirects = MAX_REDIRECTS): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!client) return reject(new Error(`unsupported protocol ${u.protocol}`));
    const req = client.get(u, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        res.resume();
        if (redirects === 0) return reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
        return resolve(get(new URL(location, u).href, timeoutMs, onTimeout, redirects - 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new Error(`HTTP ${status} ${res.statusMessage ?? ''}`.trim()));
      }
      resolve(res);
    });
    // an idle-socket timeout, so a slow but live download is not cut off
    req.setTimeout(timeoutMs, () => {
      onTimeout();
      req.destroy(new Error('timed out'));
    });
    req.on('error', reject);
  });
}
