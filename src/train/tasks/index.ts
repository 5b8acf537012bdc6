// The tasks a run can train, by the name its settings give (TrainSettings.task).
import type { TaskName } from '../../protocol/contract.ts';
import { classification } from './classification.ts';
import { detection } from './detection.ts';
import { segmentation } from './segmentation.ts';
import type { TrainingTask } from './task.ts';

const TASKS: Partial<Record<TaskName, TrainingTask>> = { classification, segmentation, detection };

/** The task of a run. */
export function trainingTask(name: TaskName): TrainingTask {
  const task = TASKS[name];
  if (!task) throw new Error(`training settings: task ${name} cannot be trained yet (trainable: ${Object.keys(TASKS).join(', ')})`);
  return task;
}
