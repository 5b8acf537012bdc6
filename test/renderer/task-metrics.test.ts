// The task's numbers in the views: the per-epoch chart that stands where classification plots top-1 (mIoU for
// segmentation, mAP and AP50 for detection), the headline numbers of an evaluation and its per-class table.
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { RunSeries } from '../../renderer/src/lib/series.ts';
import { headline, lastEvaluation, perClassScores, qualityChart, sharedTask, taskStats } from '../../renderer/src/lib/task-metrics.ts';

const started: TrainEvent = { type: 'started', time: 0, epoch: 1, step: 0, totalEpochs: 3, stepsPerEpoch: 2, resumed: false };
const segEpoch = (e: number, miou: number): TrainEvent => ({
  type: 'epoch', time: e, epoch: e, step: 2 * e, train: { loss: 1, top1: 0.5 },
  val: { loss: 0.9, top1: 0.8, miou, pixelAccuracy: 0.8, meanClassAccuracy: 0.6, perClassIou: [0.9, miou, null] },
});
const detEpoch = (e: number, map: number, ap50: number): TrainEvent => ({
  type: 'epoch', time: e, epoch: e, step: 2 * e, train: { loss: 3, top1: 0.2 },
  val: { loss: 2.5, top1: 0.3, map, ap50, ap75: map / 2, perClassAp: [map, null] },
});

describe('task metrics in the views', () => {
  it('plots a segmentation run\'s validation mIoU per epoch, and drops epochs past a resumed checkpoint', () => {
    const s = new RunSeries([started, segEpoch(1, 0.2), segEpoch(2, 0.35)]);
    const chart = qualityChart('segmentation', s.curves);
    expect(chart.title).toBe('Mean IoU');
    expect(chart.series.map((x) => x.points)).toEqual([[{ x: 1, y: 0.2 }, { x: 2, y: 0.35 }]]);
    expect(s.curves.valMap).toEqual([]);
    s.add({ ...started, step: 2, epoch: 2, resumed: true });
    expect(s.curves.valMiou).toEqual([{ x: 1, y: 0.2 }]);
    expect(headline('segmentation')).toMatchObject({ label: 'Val mIoU', curve: 'valMiou' });
    expect(sharedTask(['segmentation', 'segmentation'])).toBe('segmentation');
    expect(sharedTask(['segmentation', 'detection'])).toBe('classification'); // top-1, which every run has
    expect(sharedTask([])).toBe('classification');
  });

  it('plots a detection run\'s mAP and AP50; classification keeps train and validation top-1', () => {
    const s = new RunSeries([started, detEpoch(1, 0.1, 0.3)]);
    const det = qualityChart('detection', s.curves);
    expect(det.series.map((x) => [x.label, x.points])).toEqual([['Validation mAP', [{ x: 1, y: 0.1 }]], ['Validation AP50', [{ x: 1, y: 0.3 }]]]);
    const cls = qualityChart('classification', s.curves);
    expect(cls.series.map((x) => x.points)).toEqual([[{ x: 1, y: 0.2 }], [{ x: 1, y: 0.3 }]]);
  });

  it('gives each task\'s headline numbers and per-class scores by class name', () => {
    const seg = (segEpoch(1, 0.42) as Extract<TrainEvent, { type: 'epoch' }>).val!;
    expect(taskStats('segmentation', seg).map((x) => [x.label, x.value])).toEqual([['mIoU', '42.0 %'], ['Pixel accuracy', '80.0 %'], ['Mean class accuracy', '60.0 %']]);
    expect(perClassScores('segmentation', ['background', 'cat', 'dog'], seg)).toEqual({
      title: 'IoU', rows: [{ name: 'background', score: 0.9 }, { name: 'cat', score: 0.42 }, { name: 'dog', score: null }],
    });
    const det = (detEpoch(1, 0.2, 0.5) as Extract<TrainEvent, { type: 'epoch' }>).val!;
    expect(taskStats('detection', det).map((x) => [x.id, x.value])).toEqual([
      ['map', '20.0 %'], ['ap50', '50.0 %'], ['ap75', '10.0 %'], ['ap-small', '—'], ['ap-medium', '—'], ['ap-large', '—'],
    ]);
    expect(taskStats('detection', { ...det, apSmall: 0.25, apMedium: null, apLarge: 0.5 }).slice(3).map((x) => x.value)).toEqual(['25.0 %', '—', '50.0 %']);
    expect(perClassScores('detection', ['red', 'green'], det)?.rows).toEqual([{ name: 'red', score: 0.2 }, { name: 'green', score: null }]);
    expect(taskStats('classification', det)).toEqual([]);
    expect(perClassScores('classification', ['a'], det)).toBeNull();
  });

  it('finds a run\'s last evaluation: the finished event\'s, else the last epoch\'s', () => {
    const events = [started, segEpoch(1, 0.2), segEpoch(2, 0.3)];
    expect(lastEvaluation(events)?.miou).toBe(0.3);
    const finished: TrainEvent = { type: 'finished', time: 9, epoch: 2, step: 4, val: { loss: 1, top1: 0.9, miou: 0.31 } };
    expect(lastEvaluation([...events, finished])?.miou).toBe(0.31);
    expect(lastEvaluation([started])).toBeNull();
  });
});
