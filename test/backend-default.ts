// Setup file of the `default` test project (vitest.config.ts): each test file starts on the
// engine's default backend. Test files share worker processes (isolate: false), and some of them
// switch to the js kernels for their own cases.
import { defaultBackend, setBackend } from '../src/engine/backend.ts';

setBackend(defaultBackend());
