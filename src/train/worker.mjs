// Worker entry: tsx's loader is not inherited by worker threads, so register it, then run the
// TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
