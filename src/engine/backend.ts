// Which kernels the engine runs: 'wasm' (SIMD WebAssembly the engine assembles itself, see
// wasm/) or 'js' (the plain TypeScript kernels, kept as the reference). One switch per thread;
// the default is wasm wherever the runtime validates a SIMD module.
import { ConfigError } from './errors.ts';
import { simdSupported } from './wasm/runtime.ts';

export type Backend = 'wasm' | 'js';
export const BACKENDS: readonly Backend[] = ['wasm', 'js'];

let current: Backend | undefined;

/** Whether the wasm backend can run here (WebAssembly with 128-bit SIMD). */
export function wasmAvailable(): boolean {
  return simdSupported();
}

/** The backend used when none is chosen: wasm if available, else js. */
export function defaultBackend(): Backend {
  return wasmAvailable() ? 'wasm' : 'js';
}

export function backend(): Backend {
  return (current ??= defaultBackend());
}

/** True when the wasm kernels run (checked by each kernel entry point). */
export function useWasm(): boolean {
  return (current ??= defaultBackend()) === 'wasm';
}

/** Selects the kernels for this thread; throws a ConfigError for wasm where it cannot run. */
export function setBackend(b: Backend): void {
  if (b !== 'wasm' && b !== 'js') throw new ConfigError(`backend must be wasm or js, got ${String(b)}`);
  if (b === 'wasm' && !wasmAvailable()) {
    throw new ConfigError('backend wasm: this runtime has no WebAssembly SIMD', 'use --backend js');
  }
  current = b;
}
