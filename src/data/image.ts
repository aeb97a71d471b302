// The picture-to-MNIST pipeline's public face; the stages live in src/data/image/, one file each.
export type { PreprocessInfo, PreprocessOptions, Preprocessed } from './image/types.ts';
export { preprocessImage } from './image/pipeline.ts';
export { chooseComposite } from './image/alpha.ts';
export { toWorking } from './image/working.ts';
export { digitMask } from './image/ink.ts';
export { adjustStroke, strokeWidth } from './image/stroke.ts';
export { BOX, SIZE, centreByMass, resampleArea } from './image/resample.ts';
