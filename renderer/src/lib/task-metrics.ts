// What each task's evaluation is judged by, for the views: the per-epoch quality chart (top-1 for
// classification, mIoU for segmentation, mAP and AP50 for detection), the headline numbers of an evaluation, and
// its per-class scores (IoU or AP) by class name. Pure: no Svelte, no DOM.
import type { TaskName, TrainEvent } from '../../../src/protocol/contract.ts';
import { pct } from './format.ts';
import type { Point, RunCurves } from './series.ts';

/** An evaluation's numbers as the 'epoch' and 'finished' events carry them. */
export type EvalMetrics = NonNullable<Extract<TrainEvent, { type: 'finished' }>['val']>;

export interface QualityChart {
  title: string;
  /** The chart's description for screen readers. */
  label: string;
  yLabel: string;
  series: { label: string; points: Point[]; color: number; markers: true; dashed?: boolean }[];
}

/** The chart that stands where classification plots top-1: the number the task's best epoch is chosen by. */
export function qualityChart(task: TaskName, c: RunCurves): QualityChart {
  if (task === 'segmentation') {
    return {
      title: 'Mean IoU', label: 'Validation mean IoU per epoch', yLabel: 'mIoU',
      series: [{ label: 'Validation mIoU', points: c.valMiou, color: 1, markers: true }],
    };
  }
  if (task === 'detection') {
    return {
      title: 'Mean AP', label: 'Validation COCO mAP (IoU .50:.95) and AP50 per epoch', yLabel: 'average precision',
      series: [
        { label: 'Validation mAP', points: c.valMap, color: 1, markers: true },
        { label: 'Validation AP50', points: c.valAp50, color: 3, markers: true, dashed: true },
      ],
    };
  }
  return {
    title: 'Accuracy', label: 'Top-1 accuracy per epoch on the training and validation sets', yLabel: 'top-1 accuracy',
    series: [
      { label: 'Train', points: c.trainTop1, color: 0, markers: true },
      { label: 'Validation', points: c.valTop1, color: 1, markers: true },
    ],
  };
}

/** The number a task's runs are compared by: its short name ("Val mIoU"), its name on a chart, and the curve. */
export function headline(task: TaskName): { label: string; name: string; curve: 'valTop1' | 'valMiou' | 'valMap' } {
  if (task === 'segmentation') return { label: 'Val mIoU', name: 'mIoU', curve: 'valMiou' };
  if (task === 'detection') return { label: 'Val mAP', name: 'mAP (IoU .50:.95)', curve: 'valMap' };
  return { label: 'Val accuracy', name: 'top-1 accuracy', curve: 'valTop1' };
}

/** The task the runs overlaid together share (their headline is comparable); classification when they differ. */
export function sharedTask(tasks: readonly TaskName[]): TaskName {
  return tasks.length > 0 && tasks.every((t) => t === tasks[0]) ? tasks[0] : 'classification';
}

export interface Stat {
  label: string;
  value: string;
  /** What it measures, in words (the tooltip). */
  hint: string;
  /** For the end-to-end tests: 'miou', 'map', … */
  id: string;
}

/** The headline numbers of a segmentation or detection evaluation; empty for classification (its view has its own). */
export function taskStats(task: TaskName, m: EvalMetrics): Stat[] {
  if (task === 'segmentation') {
    return [
      { id: 'miou', label: 'mIoU', value: pct(m.miou), hint: 'Mean over the classes of intersection over union, accumulated over every validation pixel' },
      { id: 'pixel-accuracy', label: 'Pixel accuracy', value: pct(m.pixelAccuracy ?? m.top1), hint: 'Share of the labelled pixels (not 255) whose class is right' },
      { id: 'mean-class-accuracy', label: 'Mean class accuracy', value: pct(m.meanClassAccuracy), hint: 'Per class, the share of its pixels found; averaged over the classes' },
    ];
  }
  if (task === 'detection') {
    return [
      { id: 'map', label: 'mAP', value: pct(m.map), hint: 'COCO average precision over IoU thresholds .50:.95' },
      { id: 'ap50', label: 'AP50', value: pct(m.ap50), hint: 'Average precision at IoU 0.5' },
      { id: 'ap75', label: 'AP75', value: pct(m.ap75), hint: 'Average precision at IoU 0.75' },
      // COCO's sizes: small below 32² px, medium to 96², large above; a size without boxes has none ('—').
      { id: 'ap-small', label: 'AP small', value: pct(m.apSmall), hint: 'Average precision (IoU .50:.95) of the boxes under 32 × 32 px' },
      { id: 'ap-medium', label: 'AP medium', value: pct(m.apMedium), hint: 'Average precision (IoU .50:.95) of the boxes from 32 × 32 to 96 × 96 px' },
      { id: 'ap-large', label: 'AP large', value: pct(m.apLarge), hint: 'Average precision (IoU .50:.95) of the boxes over 96 × 96 px' },
    ];
  }
  return [];
}

/** Per class, its IoU (segmentation) or AP (detection), null where the evaluation had none; null for classification. */
export function perClassScores(task: TaskName, classes: readonly string[], m: EvalMetrics): { title: string; rows: { name: string; score: number | null }[] } | null {
  const scores = task === 'segmentation' ? m.perClassIou : task === 'detection' ? m.perClassAp : undefined;
  if (!scores) return null;
  return {
    title: task === 'segmentation' ? 'IoU' : 'AP',
    rows: scores.map((score, i) => ({ name: classes[i] ?? `class ${i}`, score })),
  };
}

/** The last evaluation a run's events hold: the 'finished' event's, else the last epoch's; null without one. */
export function lastEvaluation(events: readonly TrainEvent[]): EvalMetrics | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if ((e.type === 'finished' || e.type === 'epoch') && e.val) return e.val;
  }
  return null;
}
