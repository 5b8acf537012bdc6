// The tasks a run can train, by the name its settings give (TrainSettings.task).
import type { TaskName } from '../../protocol/contract.ts';
import { classification } from './classification.ts';
import { segmentation } from './segmentation.ts';
import type { TrainingTask } from './task.ts';

const TASKS: Partial<Record<TaskName, TrainingTask>> = { classification, segmentation };

/** The task of a run; detection has its network and loss (src/model, src/optim) but no training yet. */
export function trainingTask(name: TaskName): TrainingTask {
  const task = TASKS[name];
  if (!task) throw new Error(`training settings: task ${name} cannot be trained yet (trainable: ${Object.keys(TASKS).join(', ')})`);
  return task;
}
