// --backend wasm|js on every command: which kernels the engine runs (engine/backend.ts). The
// default is wasm where this runtime validates a SIMD module, else js with one line saying so.
import { Option } from 'commander';
import { BACKENDS, defaultBackend, setBackend, type Backend } from '../engine/backend.ts';
import type { Ui } from './ui.ts';

export function backendOption(): Option {
  return new Option('--backend <name>', 'kernels: wasm (SIMD WebAssembly the engine assembles) or js (plain TypeScript); default wasm where it runs')
    .choices([...BACKENDS]);
}

/** Selects the backend asked for (or the default), telling the user when wasm cannot run here. */
export function selectBackend(asked: Backend | undefined, ui: Pick<Ui, 'warn'>): Backend {
  const b = asked ?? defaultBackend();
  if (asked === undefined && b === 'js') ui.warn('this runtime has no WebAssembly SIMD: using the js backend (slower)');
  setBackend(b); // throws a ConfigError for --backend wasm where it cannot run
  return b;
}
