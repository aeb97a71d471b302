// Setup file of the `js` test project (vitest.config.ts): the engine, layer and optimizer tests
// run a second time on the plain TypeScript kernels (the default project runs the wasm ones).
import { setBackend } from '../src/engine/backend.ts';

setBackend('js');
