// The worker threads of ParallelStepper: starting them, telling each to run a command on its
// slice of a batch (through the shared control block), waiting for them with a deadline, and
// turning a crash, an exit or a hang into a WorkerError instead of a hang.
import { Worker } from 'node:worker_threads';
import { CMD, CTL, CTL_STRIDE, ERROR_BYTES, WorkerError, sliceStart, type WorkerInit } from './parallel-protocol.ts';

const decoder = new TextDecoder();

// Atomics.waitAsync is in Node 20 but not in the ES2022 lib typings.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeout?: number): WaitAsyncResult }).waitAsync;

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly errorBytes: Uint8Array;
  private seq = 0;
  private failure?: WorkerError;
  private closed = false;

  /** `threads` counts the main thread too: workers 1..threads-1 are started by start(). */
  constructor(
    readonly threads: number,
    buffers: { ctl: SharedArrayBuffer; errors: SharedArrayBuffer },
    private readonly timeoutMs: number,
  ) {
    this.ctl = new Int32Array(buffers.ctl);
    this.errorBytes = new Uint8Array(buffers.errors);
  }

  /** Starts the workers from `url`, worker t with init(t); resolves when every one is ready. */
  async start(url: URL, init: (t: number) => WorkerInit): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let t = 1; t < this.threads; t++) {
      const w = new Worker(url, { workerData: init(t) });
      this.workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new WorkerError(`worker ${t} did not start within ${this.timeoutMs} ms`)), this.timeoutMs);
        w.once('message', (m: { type: string }) => {
          clearTimeout(timer);
          if (m.type === 'ready') resolve();
          else reject(new WorkerError(`worker ${t} failed to start: ${JSON.stringify(m)}`));
        });
        w.once('error', (e) => {
          clearTimeout(timer);
          reject(new WorkerError(`worker ${t} failed to start: ${e.message}`));
        });
      }));
      w.on('error', (e) => this.fail(new WorkerError(`worker ${t} crashed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new WorkerError(`worker ${t} exited unexpectedly (code ${code})`));
      });
    }
    await Promise.all(ready);
    this.refWorkers(false);
  }

  // Idle workers are unref'd so a forgotten close() does not keep the process alive; while the
  // main thread awaits them they are ref'd, or Node would see an empty event loop and exit.
  private refWorkers(on: boolean): void {
    for (const w of this.workers) {
      if (on) w.ref();
      else w.unref();
    }
  }

  private fail(e: WorkerError): void {
    this.failure ??= e;
  }

  /** Throws if the pool was closed or a worker failed. */
  check(): void {
    if (this.closed) throw new WorkerError('ParallelStepper: used after close()');
    if (this.failure) throw this.failure;
  }

  /** Tells every worker with rows in a batch of `batch` to run `cmd` on its slice; returns the command's sequence number. */
  send(cmd: number, batch: number, training: boolean, maskSeed: number): number {
    this.check();
    const seq = ++this.seq;
    const ctl = this.ctl;
    for (let t = 1; t < this.threads; t++) {
      const start = sliceStart(batch, this.threads, t), end = sliceStart(batch, this.threads, t + 1);
      if (end === start) continue;
      const b = t * CTL_STRIDE;
      ctl[b + CTL.cmd] = cmd;
      ctl[b + CTL.start] = start;
      ctl[b + CTL.count] = end - start;
      ctl[b + CTL.batch] = batch;
      ctl[b + CTL.training] = training ? 1 : 0;
      ctl[b + CTL.maskSeed] = maskSeed;
      Atomics.store(ctl, b + CTL.seq, seq);
      Atomics.notify(ctl, b + CTL.seq);
    }
    return seq;
  }

  /** The error worker t reported, if it did. */
  workerError(t: number): WorkerError | undefined {
    const b = t * CTL_STRIDE;
    if (Atomics.load(this.ctl, b + CTL.error) === 0) return undefined;
    const len = this.ctl[b + CTL.errorLength];
    const msg = decoder.decode(this.errorBytes.slice(t * ERROR_BYTES, t * ERROR_BYTES + len));
    return new WorkerError(`worker ${t}: ${msg}`);
  }

  isActive(batch: number, t: number): boolean {
    return sliceStart(batch, this.threads, t + 1) > sliceStart(batch, this.threads, t);
  }

  /** Waits on the event loop (so a crash or exit event can end the wait) for every active worker. */
  async join(seq: number, batch: number): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    for (let t = 1; t < this.threads; t++) {
      if (!this.isActive(batch, t)) continue;
      const idx = t * CTL_STRIDE + CTL.done;
      // The worker usually finishes within a few ms of the main thread's share: block briefly first.
      let cur = Atomics.load(this.ctl, idx);
      if (cur !== seq) Atomics.wait(this.ctl, idx, cur, 20);
      while ((cur = Atomics.load(this.ctl, idx)) !== seq) {
        if (this.failure) throw this.failure;
        const left = deadline - performance.now();
        if (left <= 0) throw this.timeout(t);
        const r = waitAsync(this.ctl, idx, cur, Math.min(left, 100));
        if (r.async) {
          this.refWorkers(true);
          try {
            await r.value;
          } finally {
            this.refWorkers(false);
          }
        }
      }
      const err = this.workerError(t);
      if (err) throw (this.failure ??= err);
    }
  }

  /** The synchronous join for inference (evaluate() is synchronous); a hung worker times out. */
  joinSync(seq: number, batch: number): void {
    const deadline = performance.now() + this.timeoutMs;
    for (let t = 1; t < this.threads; t++) {
      if (!this.isActive(batch, t)) continue;
      const idx = t * CTL_STRIDE + CTL.done;
      let cur: number;
      while ((cur = Atomics.load(this.ctl, idx)) !== seq) {
        const left = deadline - performance.now();
        if (left <= 0) throw this.timeout(t);
        Atomics.wait(this.ctl, idx, cur, Math.min(left, 1000));
      }
      const err = this.workerError(t);
      if (err) throw (this.failure ??= err);
    }
  }

  private timeout(t: number): WorkerError {
    return (this.failure ??= new WorkerError(`worker ${t} did not finish within ${this.timeoutMs} ms`, 'the worker may have crashed or the machine is overloaded'));
  }

  /** Stops the workers; the pool cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const seq = ++this.seq;
    for (let t = 1; t < this.threads; t++) {
      const b = t * CTL_STRIDE;
      this.ctl[b + CTL.cmd] = CMD.exit;
      Atomics.store(this.ctl, b + CTL.seq, seq);
      Atomics.notify(this.ctl, b + CTL.seq);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
