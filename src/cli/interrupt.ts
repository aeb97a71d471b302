// Ctrl-C, SIGTERM, SIGHUP and a closed stdout for long commands: before the work that must be
// saved starts, each exits at once; during it, the first asks the loop to stop after the current
// step (the command saves and exits 130) and a second signal exits at once. A closed stdout (the
// reader of `mnist-train | head` gone) only ever asks once: later writes fail the same way.
// Writes are atomic (safe-write.ts), so exiting at any moment leaves every file either old and
// complete or new and complete.
import { onBrokenPipe } from './errors.ts';

export const INTERRUPTED_EXIT_CODE = 130;

/** A closed terminal (SIGHUP) stops a run as Ctrl-C does: the checkpoint is written. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Interrupts {
  /** True once a signal asked the work to stop. */
  readonly requested: boolean;
  /** From now on the first signal only asks to stop (call when the work starts). */
  arm(): void;
  /** Back to exiting at once (call when the work has stopped and is being saved or reported). */
  disarm(): void;
  /** Removes the handlers. */
  dispose(): void;
}

export interface InterruptOptions {
  /** Printed on stderr by the first signal while armed. */
  stopping: string;
  /** Printed on stderr when a signal exits at once: before the work (trained false), or later. */
  exiting: (trained: boolean) => string;
  /** Stops spinners and bars before printing. */
  cleanup?: () => void;
}

export function catchInterrupts(o: InterruptOptions): Interrupts {
  let armed = false;
  let wasArmed = false;
  let requested = false;
  const exitNow = () => {
    try {
      o.cleanup?.();
    } catch {
      // the message matters more than the terminal state
    }
    process.stderr.write(`\n${o.exiting(wasArmed)}\n`);
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  const handler = () => {
    if (!armed || requested) return exitNow();
    requested = true;
    process.stderr.write(`\n${o.stopping}\n`);
  };
  let pipeClosed = false;
  const pipeHandler = () => {
    if (pipeClosed) return;
    pipeClosed = true;
    process.stderr.write('\nstdout was closed (the program reading it has ended)');
    if (!armed) return exitNow();
    if (requested) return;
    requested = true;
    process.stderr.write(`; ${o.stopping.replace(/ \(press Ctrl-C.*\)$/, '')}\n`);
  };
  for (const s of SIGNALS) process.on(s, handler);
  onBrokenPipe(pipeHandler);
  return {
    get requested() {
      return requested;
    },
    arm() {
      armed = wasArmed = true;
    },
    disarm() {
      armed = false;
    },
    dispose() {
      for (const s of SIGNALS) process.off(s, handler);
      onBrokenPipe(undefined);
    },
  };
}
