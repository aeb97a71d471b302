import { describe, expect, it } from 'vitest';
import { formatTensor, notesExample } from '../../examples/notes-example.ts';

// Values checked by hand and with PyTorch 1.13 (torch.nn.Conv2d / MaxPool2d on the same input).
describe('the notes example', () => {
  const r = notesExample();

  it('convolves to [[24, 18, 8], [26, 18, 8], [28, 18, 8]]', () => {
    // top-left window: 3·0+3·1+2·2 + 2·2+3·2+2·0 + 3·0+3·1+2·2 = 7 + 10 + 7 = 24
    expect(r.conv.shape).toEqual([1, 1, 3, 3]);
    expect([...r.conv.data]).toEqual([24, 18, 8, 26, 18, 8, 28, 18, 8]);
  });

  it('leaves the all-positive map unchanged through ReLU', () => {
    expect([...r.relu.data]).toEqual([...r.conv.data]);
  });

  it('pools with -inf padding to [[24, 18], [28, 18]] and flattens to [1, 4]', () => {
    expect(r.pool.shape).toEqual([1, 1, 2, 2]);
    expect([...r.pool.data]).toEqual([24, 18, 28, 18]);
    expect(r.flat.shape).toEqual([1, 4]);
    expect([...r.flat.data]).toEqual([24, 18, 28, 18]);
  });

  it('formats tensors one row per line', () => {
    expect(formatTensor(r.pool)).toBe('  [24, 18]\n  [28, 18]');
  });
});
