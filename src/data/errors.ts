// DataError: a dataset file is missing, corrupt, or could not be fetched.
import { MnistError } from '../engine/errors.ts';

/** A dataset file is missing, malformed, fails its checksum, or could not be downloaded. */
export class DataError extends MnistError {}
