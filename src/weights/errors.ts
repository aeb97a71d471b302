// CheckpointError: a weights file (or its resume state) is malformed, inconsistent or unsafe.
import { MnistError } from '../engine/errors.ts';

/** A weights file failed validation; the message names the field (`model.layers[3].kernelSize: …`). */
export class CheckpointError extends MnistError {}
