// Curves exported as CSV: one row per x across every series, gaps left empty, labels quoted when needed.
import { describe, expect, it } from 'vitest';
import { fileName, seriesCsv } from '../../renderer/src/lib/export-curves.ts';

describe('seriesCsv', () => {
  it('joins series on x, leaves gaps empty and quotes labels with commas or quotes', () => {
    const csv = seriesCsv([
      { label: 'run "a", 32 px', points: [{ x: 1, y: 0.5 }, { x: 2, y: 0.625 }] },
      { label: 'b', points: [{ x: 2, y: 0.1 }, { x: 3, y: 1e-7 }] },
    ], 'epoch');
    expect(csv).toBe('epoch,"run ""a"", 32 px",b\n1,0.5,\n2,0.625,0.1\n3,,1e-7\n');
  });

  it('has just the header without points', () => {
    expect(seriesCsv([], 'step')).toBe('step\n');
  });

  it('names files after the chart', () => {
    expect(fileName('Validation loss', 'csv')).toBe('validation-loss.csv');
    expect(fileName('Top-1 · per epoch', 'png')).toBe('top-1-per-epoch.png');
    expect(fileName('…', 'png')).toBe('chart.png');
  });
});
