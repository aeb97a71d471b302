// InteropError: a model that cannot be written in another format, or a foreign file (safetensors)
// that is malformed, unsafe or does not fit the architecture.
import { MnistError } from '../engine/errors.ts';

export class InteropError extends MnistError {}
