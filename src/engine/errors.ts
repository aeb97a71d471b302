// Typed errors thrown by library code; the CLI turns them into one line on stderr.

/** Base class for every error the tool expects and explains (as opposed to bugs). */
export class MnistError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor had the wrong rank or size for an operation. */
export class ShapeError extends MnistError {}

/** A layer, model or optimizer was configured with an impossible value. */
export class ConfigError extends MnistError {}
