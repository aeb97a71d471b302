// mnist-train's default thread count: the machine's cores, except for short epochs and for models
// as small as the default MLP (counted in multiplications a sample, worked by hand in test/nn/summary.test.ts).
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { trainThreads } from '../../src/cli/train.ts';
import { cnnSpecs } from '../../src/nn/arch.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { forwardMultiplies } from '../../src/nn/summary.ts';

describe('trainThreads', () => {
  const mlp = forwardMultiplies(buildModel(mlpSpecs([256])), [1, 28, 28]);
  const cnn = forwardMultiplies(buildModel(cnnSpecs()), [1, 28, 28]);

  it('trains the default MLP on one thread and the CNN on every core', () => {
    expect(trainThreads(undefined, 938, mlp)).toBe(1);
    expect(trainThreads(undefined, 938, cnn)).toBe(availableParallelism());
    // a wider MLP has work enough for the threads
    expect(trainThreads(undefined, 938, forwardMultiplies(buildModel(mlpSpecs([1024])), [1, 28, 28]))).toBe(availableParallelism());
  });

  it('one thread for short epochs, and --threads always wins', () => {
    expect(trainThreads(undefined, 99, cnn)).toBe(1);
    expect(trainThreads(3, 938, mlp)).toBe(3);
    expect(trainThreads(1, 938, cnn)).toBe(1);
  });
});
