// The live page's HTTP server (node:http, no framework): the page, its bundled script, the model,
// a picture-preparation endpoint and, under mnist-train --serve, server-sent events. Only these
// routes exist; everything else is 404. Bound to 127.0.0.1 unless --host says otherwise.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MnistError } from '../engine/errors.ts';
import { MAX_FILE_BYTES, decodeImage } from '../data/image-io.ts';
import { preprocessImage } from '../data/image.ts';
import type { Sequential } from '../nn/sequential.ts';
import type { LiveEvents, LiveModel, LiveParams, PreparedPicture } from '../live/protocol.ts';
import { LIVE_CSP, livePage } from '../report/live-page.ts';
import { liveBundle } from './live-bundle.ts';

export class ServeError extends MnistError {}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
/** Signals that stop a serving page: Ctrl-C, kill, a closed terminal (exit 0: nothing is lost). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface LiveServerOptions {
  host?: string;
  port?: number;
  /** Shown as the page's title. */
  title: string;
  /** The model as the page loads it; called for every GET /model.json (training changes it). */
  model: () => LiveModel;
  /** Largest request body (POST /prepare); mnist-predict's picture limit by default. */
  maxBody?: number;
  /** The first event on every new /events stream. */
  hello?: () => { [K in keyof LiveEvents]: { event: K; data: LiveEvents[K] } }[keyof LiveEvents];
}

export interface LiveServer {
  readonly url: string;
  readonly port: number;
  /** Sends one server-sent event to every open page. */
  send<K extends keyof LiveEvents>(event: K, data: LiveEvents[K]): void;
  /** Number of pages listening to /events. */
  readonly listeners: number;
  /** Whether the server keeps the process alive (mnist-train lets it exit when training ends). */
  ref(keep: boolean): void;
  close(): Promise<void>;
}

/**
 * The model's state_dict tensors (parameters and batch-norm running statistics) as base64
 * float32 for the page (little-endian, as every browser is).
 */
export function liveParams(model: Sequential): LiveParams {
  const out: LiveParams = {};
  for (const p of [...model.namedParameters(), ...model.namedBuffers()]) {
    const d = p.value.data;
    out[p.key] = { shape: [...p.value.shape], b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
  }
  return out;
}

const SECURITY_HEADERS = {
  'content-security-policy': `${LIVE_CSP}; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function hostName(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Starts the server; a busy port or an address that cannot be bound is one ServeError. */
export async function startLiveServer(o: LiveServerOptions): Promise<LiveServer> {
  const host = o.host ?? DEFAULT_HOST;
  const maxBody = o.maxBody ?? MAX_FILE_BYTES;
  const page = livePage(o.title);
  const script = await liveBundle();
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let keep = true;
  let port = 0;

  // A page on another site must not reach a server on this machine through a name that resolves
  // here (DNS rebinding): on a loopback address only the loopback names are answered.
  const allowedHosts = () => new Set([...LOOPBACK].map((h) => `${hostName(h)}:${port}`));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = req.url ?? '/';
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const fail = (status: number, message: string) => send(status, 'application/json; charset=utf-8', JSON.stringify({ error: message }));
    if (LOOPBACK.has(host) && !allowedHosts().has((req.headers.host ?? '').toLowerCase())) return fail(421, 'unknown Host header');
    let path: string;
    try {
      path = decodeURIComponent(raw.split('?')[0]);
    } catch {
      return fail(400, 'malformed path');
    }
    if (path.split(/[/\\]/).includes('..')) return fail(400, 'paths with .. are refused');
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    const routeCap = req.method === 'POST' && path === '/prepare' ? maxBody : 0;
    if (declared > routeCap || (hasBody && routeCap === 0)) {
      res.setHeader('connection', 'close');
      return fail(413, `request body too large (the limit is ${routeCap} bytes)`);
    }
    const route = `${req.method === 'HEAD' ? 'GET' : req.method} ${path}`;
    switch (route) {
      case 'GET /':
        return send(200, 'text/html; charset=utf-8', page);
      case 'GET /app.js':
        return send(200, 'text/javascript; charset=utf-8', script);
      case 'GET /model.json':
        return send(200, 'application/json; charset=utf-8', JSON.stringify(o.model()));
      case 'GET /favicon.ico':
        res.writeHead(204, SECURITY_HEADERS);
        return void res.end();
      case 'GET /events': {
        if (o.model().mode !== 'train') return fail(404, 'no events: this server is not training');
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        res.write(': mnist-ts live training\n\n');
        const h = o.hello?.();
        if (h) res.write(sse(h.event, h.data));
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      case 'POST /prepare': {
        const body = await readBody(req, maxBody);
        if (body === undefined) {
          res.setHeader('connection', 'close');
          return fail(413, `request body too large (the limit is ${maxBody} bytes)`);
        }
        return send(200, 'application/json; charset=utf-8', JSON.stringify(prepare(body)));
      }
      default:
        if (['/', '/app.js', '/model.json', '/events', '/prepare', '/favicon.ico'].includes(path)) return fail(405, `${req.method} is not allowed on ${path}`);
        return fail(404, 'not found');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: (err as Error).message }));
      } else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    if (!keep) s.unref();
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, host, o.port ?? DEFAULT_PORT)));
    server.listen(o.port ?? DEFAULT_PORT, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  // the page keeps a stream open; a comment every 15 s keeps proxies and sleepy tabs attached
  const beat = setInterval(() => {
    for (const s of streams) s.write(': keep-alive\n\n');
  }, 15_000);
  beat.unref();

  return {
    url: `http://${hostName(host)}:${port}/`,
    port,
    send(event, data) {
      const msg = sse(event, data);
      for (const s of streams) s.write(msg);
    },
    get listeners() {
      return streams.size;
    },
    ref(k) {
      keep = k;
      if (k) server.ref();
      else server.unref();
      for (const s of sockets) {
        if (k) s.ref();
        else s.unref();
      }
    },
    close() {
      clearInterval(beat);
      for (const s of streams) s.end();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const hint = 'stop the other server, or choose another port with --port N (--port 0 picks a free one)';
  switch (err.code) {
    case 'EADDRINUSE': return new ServeError(`--port ${port}: the port is already in use on ${host}`, hint);
    case 'EACCES': return new ServeError(`--port ${port}: not allowed to listen on this port on ${host}`, 'ports below 1024 need privileges; try --port 8080');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new ServeError(`--host ${host}: not an address of this machine`, 'the default 127.0.0.1 serves this machine only');
    default: return new ServeError(`cannot listen on ${host}:${port} (${err.code ?? err.message})`);
  }
}

/** Reads a request body up to `cap` bytes; undefined (and the connection dropped) past it. */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (b: Buffer) => {
      n += b.length;
      if (n > cap) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** A dropped picture, read and prepared exactly as mnist-predict reads and prepares a file. */
export function prepare(bytes: Uint8Array): PreparedPicture & { error?: string } {
  try {
    const img = decodeImage(bytes);
    const pre = preprocessImage(img);
    return { pixels: pre.pixels ? Array.from(pre.pixels) : undefined, reason: pre.reason, width: img.width, height: img.height };
  } catch (err) {
    if (err instanceof MnistError) return { error: err.message };
    throw err;
  }
}
