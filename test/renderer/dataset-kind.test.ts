// What the Dataset view says of the folder opened: its kind, what its per-class counts count, and a segmentation
// folder's pixel shares.
import { describe, expect, it } from 'vitest';
import type { ScanSummary } from '../../src/protocol/contract.ts';
import { datasetKind, pixelShares } from '../../renderer/src/lib/dataset-kind.ts';

const scan = (over: Partial<ScanSummary>): ScanSummary => ({
  root: '/d', layout: 'flat', split: { valFraction: 0.15, seed: 0 }, classes: [], totalImages: 0, trainCount: 0, valCount: 0,
  imageSize: null, skipped: [], ignored: 0, notes: [], problems: [], ...over,
});

describe('the kind of dataset a folder is', () => {
  it('says the task and what the counts count', () => {
    expect(datasetKind(scan({})).task).toBe('classification'); // a summary recorded before tasks
    expect(datasetKind(scan({ task: 'segmentation' }))).toMatchObject({ task: 'segmentation', unit: 'images', countsTitle: 'Images holding each class' });
    expect(datasetKind(scan({ task: 'detection' }))).toMatchObject({ task: 'detection', unit: 'boxes' });
    expect(datasetKind(scan({ task: 'segmentation' })).summary).toMatch(/^Segmentation dataset/);
  });

  it('lists a segmentation folder\'s pixel shares, largest first; none for other kinds', () => {
    const classes = [
      { name: 'background', train: 4, val: 1, total: 5, pixelShare: 0.7 },
      { name: 'cat', train: 2, val: 1, total: 3, pixelShare: 0.1 },
      { name: 'dog', train: 3, val: 0, total: 3, pixelShare: 0.2 },
    ];
    expect(pixelShares(scan({ task: 'segmentation', classes }))).toEqual([{ name: 'background', share: 0.7 }, { name: 'dog', share: 0.2 }, { name: 'cat', share: 0.1 }]);
    expect(pixelShares(scan({ task: 'detection', classes: classes.map(({ pixelShare: _, ...c }) => c) }))).toBeNull();
  });
});
