// Ctrl-C and SIGTERM for long commands: before the work that must be saved starts, a signal exits
// at once; during it, the first signal asks the loop to stop after the current step (the command
// saves and exits 130) and a second one exits at once. Writes are atomic (files.ts), so exiting
// at any moment leaves every file either old and complete or new and complete.

export const INTERRUPTED_EXIT_CODE = 130;

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
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
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
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
