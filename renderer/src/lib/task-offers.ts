// What the Train form offers a task: the settings a segmentation or detection run refuses (src/train/tasks/*'s
// refusals, which throw when a run starts) are not offered for it, and the form says why in these words.
// test/renderer/task-offers.test.ts holds this table to the tasks' own refusals.
import type { TaskName } from '../../../src/protocol/contract.ts';

/** A setting a task can refuse: Quick (headOnly), starting from pretrained weights, RandAugment. */
export type Refusable = 'headOnly' | 'weights' | 'randAugment';

const REFUSED: Record<TaskName, Partial<Record<Refusable, string>>> = {
  classification: {},
  segmentation: {
    headOnly: 'Quick solves a classifier on pooled features; a segmentation head reads a feature map',
  },
  detection: {
    randAugment: 'its operations do not move boxes; detection has its own photometric distortion',
  },
};

/** Why a run of `task` cannot take `setting`, or null when it can. */
export function refusal(task: TaskName, setting: Refusable): string | null {
  return REFUSED[task][setting] ?? null;
}

/** The settings a run of `task` refuses, each with why. */
export function refusals(task: TaskName): [Refusable, string][] {
  return Object.entries(REFUSED[task]) as [Refusable, string][];
}

/** The task's name for people, with what its dataset looks like. */
export const TASK_LABELS: Record<TaskName, string> = {
  classification: 'Classification — a class per image',
  segmentation: 'Segmentation — a class per pixel (DeepLabv3)',
  detection: 'Detection — boxes with classes (SSDLite)',
};
