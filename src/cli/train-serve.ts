// mnist-train --serve: the live page during training. fit's callbacks feed it: every batch adds
// to a running mean sent as a curve point a few times a second; the weights go out every few
// seconds and after every epoch, and the page redraws a few fixed test digits with them.
import type { Split } from '../data/sources.ts';
import type { LiveEpoch, LiveModel, LivePoint } from '../live/protocol.ts';
import type { LayerSpec } from '../nn/module.ts';
import type { Sequential } from '../nn/sequential.ts';
import type { EpochRecord } from '../weights/checkpoint.ts';
import type { StepInfo } from '../train/train.ts';
import { STOP_SIGNALS, liveParams, startLiveServer, type LiveServer } from './live-server.ts';

/** Curve points at most this often (ms). */
const POINT_EVERY = 250;
/** Weights pushed at most this often (ms), and at every epoch's end. */
const STATE_EVERY = 2000;
/** Test digits the page redraws with each snapshot. */
const SAMPLES = 6;
/** Points kept for a page opened late; older ones are thinned. */
const MAX_POINTS = 4000;

export interface TrainWatchOptions {
  host: string;
  port: number;
  model: Sequential;
  info: { name: string; arch: string; layers: LayerSpec[] };
  input: { shape: number[]; mean: number; std: number };
  classes: string[];
  dataset: string;
  test: Split;
  epochs: number;
  batches: number;
  out: string;
  /** Epoch records of a resumed run. */
  history: EpochRecord[];
}

export interface TrainWatch {
  readonly url: string;
  step(s: StepInfo): void;
  epoch(m: EpochRecord): void;
  /** The run ended (finished, or stopped by Ctrl-C after `epoch` complete epochs). */
  done(stopped: boolean, epoch: number): void;
  /** After a finished run: keep the page up until Ctrl-C. */
  serveUntilInterrupted(): Promise<void>;
  close(): Promise<void>;
}

/** One digit of each class from the start of the test split, as far as there are such. */
function pickSamples(test: Split): { label: number; b64: string }[] {
  const px = test.rows * test.cols;
  const out: { label: number; b64: string }[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < test.count && out.length < SAMPLES; i++) {
    const label = test.labels[i];
    if (seen.has(label)) continue;
    seen.add(label);
    out.push({ label, b64: Buffer.from(test.images.subarray(i * px, (i + 1) * px)).toString('base64') });
  }
  return out;
}

function epochOf(m: EpochRecord): LiveEpoch {
  return { epoch: m.epoch, trainLoss: m.trainLoss, trainAccuracy: m.trainAccuracy, testLoss: m.testLoss, testAccuracy: m.testAccuracy };
}

export async function watchTraining(o: TrainWatchOptions): Promise<TrainWatch> {
  let points: LivePoint[] = [];
  const history = o.history.map(epochOf);
  let version = 0;
  let where = { epoch: o.history.at(-1)?.epoch ?? 0, batch: 0 };
  let state = { version, ...where, params: liveParams(o.model) };
  const training: NonNullable<LiveModel['training']> = {
    epochs: o.epochs, batches: o.batches, out: o.out, samples: pickSamples(o.test), points, history,
  };
  const model = (): LiveModel => ({
    mode: 'train',
    title: `training ${o.info.name} → ${o.out}`,
    model: o.info,
    input: o.input,
    classes: o.classes,
    dataset: o.dataset,
    state,
    training: { ...training, points },
  });
  const server: LiveServer = await startLiveServer({
    host: o.host, port: o.port, title: `training ${o.info.name}`, model,
    hello: () => ({ event: 'sync', data: { points, history, state, done: training.done } }),
  });
  // training ends the process as before (finished, Ctrl-C, error): the server does not hold it
  server.ref(false);
  let sum = 0, correct = 0, seen = 0, lastPoint = performance.now(), lastState = lastPoint;

  const pushState = () => {
    state = { version: ++version, ...where, params: liveParams(o.model) };
    server.send('state', state);
    lastState = performance.now();
  };

  return {
    url: server.url,
    step(s) {
      sum += s.loss * s.size;
      correct += s.correct;
      seen += s.size;
      where = { epoch: s.epoch, batch: s.batch };
      const now = performance.now();
      if (now - lastPoint >= POINT_EVERY || s.batch === s.batches) {
        const p: LivePoint = { step: (s.epoch - 1) * s.batches + s.batch, epoch: s.epoch, batch: s.batch, batches: s.batches, loss: sum / seen, accuracy: correct / seen };
        points.push(p);
        if (points.length > MAX_POINTS) points = points.filter((_, i) => i % 2 === 0);
        server.send('point', p);
        sum = correct = seen = 0;
        lastPoint = now;
      }
      if (now - lastState >= STATE_EVERY) pushState();
    },
    epoch(m) {
      const e = epochOf(m);
      history.push(e);
      server.send('epoch', e);
      where = { epoch: m.epoch, batch: 0 };
      pushState();
    },
    done(stopped, epoch) {
      training.done = { stopped, epoch };
      server.send('done', training.done);
    },
    serveUntilInterrupted() {
      server.ref(true);
      process.stderr.write(`training finished; the live page stays at ${server.url} (Ctrl-C to stop)\n`);
      return new Promise<void>((resolve) => {
        const stop = () => {
          for (const sig of STOP_SIGNALS) process.off(sig, stop);
          void server.close().then(resolve);
        };
        for (const sig of STOP_SIGNALS) process.on(sig, stop);
      });
    },
    close: () => server.close(),
  };
}
