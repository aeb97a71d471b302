// Terminal output for the commands: colour, spinner and progress bars on a TTY; plain lines
// with no ANSI codes off a TTY (CI logs, pipes). NO_COLOR is honoured.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { onErrorCleanup } from './errors.ts';

// The spinner and bar packages load only where a terminal could show them: off a TTY (CI logs,
// pipes, the tests' runs) they draw nothing, and loading them cost ~90 ms of every command's start.
const terminal = (!!process.stdout.isTTY || !!process.stderr.isTTY) && !process.env.CI;
const ora = terminal ? (await import('ora')).default : undefined;
const cliProgress = terminal ? (await import('cli-progress')).default : undefined;

export interface Ui {
  /** Human-readable output goes here (stdout, or stderr when --json owns stdout). */
  readonly stream: NodeJS.WriteStream;
  readonly tty: boolean;
  readonly c: ChalkInstance;
  readonly quiet: boolean;
  line(text?: string): void;
  warn(text: string): void;
  spin(text: string): Spinner;
  bar(total: number, label: string): Bar;
}

export interface Spinner {
  text(t: string): void;
  done(t: string): void;
  stop(): void;
}

export interface Bar {
  update(value: number, payload: { loss: number; acc: number; rate: number }): void;
  stop(): void;
}

export function makeUi(opts: { quiet?: boolean; json?: boolean } = {}): Ui {
  const stream = opts.json ? process.stderr : process.stdout;
  // A terminal that reports no width (a pseudo-terminal with no size) cannot redraw a spinner or
  // a bar: treat it like a log.
  const tty = !!stream.isTTY && (stream.columns ?? 0) > 0 && !process.env.CI;
  const colour = tty && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
  const c = new Chalk({ level: colour ? 1 : 0 });
  const quiet = !!opts.quiet;
  let active: { stop(): void } | undefined;
  onErrorCleanup(() => active?.stop());

  const ui: Ui = {
    stream,
    tty,
    c,
    quiet,
    line(text = '') {
      if (!quiet) stream.write(`${text}\n`);
    },
    warn(text) {
      process.stderr.write(`${c.yellow('warning:')} ${text}\n`);
    },
    spin(text) {
      if (!tty || quiet || !ora) {
        return { text() {}, done: (t) => ui.line(t), stop() {} };
      }
      const o: Ora = ora({ text, stream, color: 'cyan', discardStdin: false }).start();
      active = o;
      return {
        text: (t) => void (o.text = t),
        done: (t) => {
          o.succeed(t);
          active = undefined;
        },
        stop: () => {
          o.stop();
          active = undefined;
        },
      };
    },
    bar(total, label) {
      if (!tty || quiet || !cliProgress) return { update() {}, stop() {} };
      const b = new cliProgress.SingleBar(
        {
          format: `${label} ${c.cyan('{bar}')} {value}/{total} | loss {loss} | acc {acc} | {rate} samples/s | ETA {eta_formatted}`,
          barCompleteChar: '\u2588',
          barIncompleteChar: '\u2591',
          hideCursor: true,
          clearOnComplete: true,
          stream,
          fps: 10,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      b.start(total, 0, { loss: '-', acc: '-', rate: '-' });
      active = b;
      return {
        update: (v, p) => b.update(v, { loss: p.loss.toFixed(4), acc: `${(p.acc * 100).toFixed(2)}%`, rate: Math.round(p.rate).toString() }),
        stop: () => {
          b.stop();
          active = undefined;
        },
      };
    },
  };
  return ui;
}

/** 0.97812 -> "97.81%" */
export function pct(x: number, digits = 2): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** 1234567 -> "1,234,567" */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
