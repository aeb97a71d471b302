// Optional timing of the photo pipeline's stages, for scripts/photos/time.ts: nothing is timed,
// and a stage's end costs one check, unless a listener is set.

let listener: ((stage: string) => void) | undefined;

/** Calls `f` as each stage of every picture read ends, with the stage's name; no argument: stop. */
export function onStage(f?: (stage: string) => void): void {
  listener = f;
}

export function stageDone(stage: string): void {
  if (listener) listener(stage);
}
