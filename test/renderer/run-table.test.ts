// The Runs view's table: a column for every training setting (from the contract's schema) and final metric,
// and its sorting and filtering.
import { describe, expect, it } from 'vitest';
import { TrainSettings, type RunSummary } from '../../src/protocol/contract.ts';
import { RUN_COLUMNS, filterRuns, sortRuns } from '../../renderer/src/lib/run-table.ts';

function run(id: string, over: { settings?: Record<string, unknown>; best?: number | null; tags?: string[]; notes?: string; createdAt?: string } = {}): RunSummary {
  return {
    id, name: `run ${id}`, status: 'finished', createdAt: over.createdAt ?? '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
    settings: TrainSettings.parse({ data: '/data/shapes', ...over.settings }), classes: ['a', 'b'], epochsDone: 2,
    best: over.best == null ? null : { epoch: 2, top1: over.best, loss: 0.5 }, last: { epoch: 2, trainLoss: 0.4, valLoss: 0.6, valTop1: over.best ?? null },
    error: null, resumable: false, tags: over.tags ?? [], notes: over.notes ?? '',
  };
}

describe('the runs table', () => {
  it('has a column for every setting, nested ones included, and for the final metrics', () => {
    const ids = RUN_COLUMNS.map((c) => c.id);
    for (const key of Object.keys(TrainSettings.shape).filter((k) => k !== 'augmentation')) expect(ids).toContain(key);
    expect(ids).toEqual(expect.arrayContaining(['augmentation.cropScale', 'augmentation.hflip', 'augmentation.colorJitter', 'bestTop1', 'lastValLoss', 'tags']));
    const lr = RUN_COLUMNS.find((c) => c.id === 'lr')!;
    expect(lr.title).toMatch(/learning rate/);
    expect(lr.format(lr.value(run('a', { settings: { lr: 0.002 } })))).toBe('2.0e-3');
  });

  it('shows a run\'s task, and a segmentation run\'s best mIoU (a run recorded before tasks reads as classification)', () => {
    const task = RUN_COLUMNS.find((c) => c.id === 'task')!;
    const miou = RUN_COLUMNS.find((c) => c.id === 'bestMiou')!;
    const seg = { ...run('s', { settings: { task: 'segmentation' }, best: 0.9 }), best: { epoch: 2, top1: 0.9, loss: 0.3, miou: 0.625 } };
    expect(task.format(task.value(seg))).toBe('segmentation');
    expect(task.format(task.value(run('c')))).toBe('classification');
    expect(miou.format(miou.value(seg))).toMatch(/62\.5/);
    expect(miou.value(run('c', { best: 0.8 }))).toBeNull();
    expect(filterRuns([seg, run('c')], 'task:segmentation').map((r) => r.id)).toEqual(['s']);
  });

  it("shows a detection run's best mAP, and filters by it", () => {
    const map = RUN_COLUMNS.find((c) => c.id === 'bestMap')!;
    const det = { ...run('d', { settings: { task: 'detection' } }), best: { epoch: 3, top1: 0.5, loss: 2, map: 0.214 } };
    expect(map.format(map.value(det))).toBe('21.4 %');
    expect(map.value(run('c', { best: 0.8 }))).toBeNull();
    expect(filterRuns([det, run('c', { best: 0.9 })], 'bestMap>0.2').map((r) => r.id)).toEqual(['d']);
  });

  it('shows the settings a run used: the recipe\'s resolved values over its "auto"', () => {
    const r = { ...run('a'), recipe: { settings: TrainSettings.parse({ data: '/d', warmupEpochs: 3 }), explanation: '' } };
    const warmup = RUN_COLUMNS.find((c) => c.id === 'warmupEpochs')!;
    expect(warmup.value(run('b'))).toBe('auto');
    expect(warmup.value(r)).toBe(3);
  });

  it('sorts by any column either way, with missing values last', () => {
    const runs = [run('a', { best: 0.5 }), run('b', { best: null }), run('c', { best: 0.9 })];
    expect(sortRuns(runs, { column: 'bestTop1', descending: true }).map((r) => r.id)).toEqual(['c', 'a', 'b']);
    expect(sortRuns(runs, { column: 'bestTop1', descending: false }).map((r) => r.id)).toEqual(['a', 'c', 'b']);
    const sizes = [run('x', { settings: { imageSize: 256 } }), run('y', { settings: { imageSize: 64 } })];
    expect(sortRuns(sizes, { column: 'imageSize', descending: false }).map((r) => r.id)).toEqual(['y', 'x']);
  });

  it('filters by words, by a column and by comparisons, all terms together', () => {
    const runs = [
      run('a', { best: 0.5, tags: ['baseline'], settings: { variant: 'mobilevit_xs' } }),
      run('b', { best: 0.8, notes: 'lr too high', settings: { lr: 0.01 } }),
      run('c', { best: 0.9, tags: ['ablation'] }),
    ];
    const ids = (q: string) => filterRuns(runs, q).map((r) => r.id);
    expect(ids('')).toEqual(['a', 'b', 'c']);
    expect(ids('baseline')).toEqual(['a']);
    expect(ids('too high')).toEqual(['b']);
    expect(ids('tags:abl')).toEqual(['c']);
    expect(ids('variant:mobilevit_xs')).toEqual(['a']);
    expect(ids('hflip:yes')).toEqual(['a', 'b', 'c']);
    expect(ids('bestTop1>0.6')).toEqual(['b', 'c']);
    expect(ids('nosuchcolumn>1')).toEqual([]);
    expect(ids('lr=0.01')).toEqual(['b']);
    expect(ids('bestTop1>0.6 ablation')).toEqual(['c']);
  });
});
