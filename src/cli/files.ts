// File helpers for the commands: every output is written by safe-write.ts's one writer (length
// checked, fsynced, renamed only when complete, path and reason in one line on failure).
import { writeFileSafe } from './safe-write.ts';

/** writeFileSafe under its older name. */
export function writeFileAtomic(path: string, data: string | Uint8Array, label?: string): void {
  writeFileSafe(path, data, { label });
}
