import { afterAll, describe, expect, it } from 'vitest';
import { backend, defaultBackend, setBackend, wasmAvailable } from '../../src/engine/backend.ts';
import { ConfigError } from '../../src/engine/errors.ts';
import { gemmNT, gemmStridedJs } from '../../src/engine/gemm.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Workspace } from '../../src/engine/tensor.ts';
import { wasmGemmStrided } from '../../src/engine/wasm/gemm.ts';
import { wasmRuntime } from '../../src/engine/wasm/runtime.ts';

describe('backend switch', () => {
  const initial = backend();
  afterAll(() => setBackend(initial));

  it('defaults to wasm where SIMD validates (Node 20 does)', () => {
    expect(wasmAvailable()).toBe(true);
    expect(defaultBackend()).toBe('wasm');
  });

  it('routes the products to the selected kernels (bit for bit the same as calling them)', () => {
    const rng = new Rng(5);
    const M = 9, N = 14, K = 33;
    const a = Float32Array.from({ length: M * K }, () => rng.uniform(-1, 1));
    const b = Float32Array.from({ length: N * K }, () => rng.uniform(-1, 1));
    const viaWasm = new Float32Array(M * N), viaJs = new Float32Array(M * N);
    wasmGemmStrided(M, N, K, a, 0, K, 1, b, 0, 1, K, viaWasm, 0, N, false);
    gemmStridedJs(M, N, K, a, 0, K, 1, b, 0, 1, K, viaJs, 0, N, false);
    expect(Array.from(viaWasm)).not.toEqual(Array.from(viaJs)); // float32 vs float64 sums differ somewhere
    for (const [name, expected] of [['wasm', viaWasm], ['js', viaJs]] as const) {
      setBackend(name);
      expect(backend()).toBe(name);
      const c = new Float32Array(M * N);
      gemmNT(M, N, K, a, b, c);
      expect(Array.from(c), name).toEqual(Array.from(expected));
    }
  });

  it('puts layer workspaces in the kernel memory only on the wasm backend', () => {
    setBackend('wasm');
    expect(wasmRuntime().holds(new Workspace().get([3, 4]).data)).toBe(true);
    setBackend('js');
    expect(wasmRuntime().holds(new Workspace().get([3, 4]).data)).toBe(false);
  });

  it('refuses an unknown backend with a ConfigError naming it', () => {
    expect(() => setBackend('gpu' as never)).toThrow(ConfigError);
    expect(() => setBackend('gpu' as never)).toThrow(/gpu/);
  });
});
