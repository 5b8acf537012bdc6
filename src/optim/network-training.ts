// What the trainer steps for any network the registry builds, and with which objective: a classifier itself with
// its cross-entropy, DeepLabv3 itself with the pixel cross-entropy, SSDLite as one output tensor (deltas and logits
// side by side) with the multibox loss. One answer for every place a run's step happens: this process
// (train/dense-compute.ts) and a compute device's kernel (device/kernel.ts: a worker thread, a page).
import type * as tf from '@tensorflow/tfjs';
import { DetectionModel } from '../model/detection.ts';
import { Model } from '../model/model.ts';
import type { AnyNetwork } from '../model/networks.ts';
import type { ForwardOptions } from '../model/types.ts';
import { BOX_OBJECTIVE, CLASSIFICATION_OBJECTIVE, PIXEL_OBJECTIVE, type Objective } from './objective.ts';
import type { TrainableModel } from './trainer.ts';

/**
 * The detector as the trainer steps it: one output tensor, each anchor's 4 deltas then its class logits (what the
 * box objective reads). Its head, trained alone while the backbone is frozen (freezeBackboneEpochs), is
 * everything after the backbone: the extra layers and every level's head. A quick run (`quick`) trains only
 * those: the backbone's weights are not the trainer's (so neither the optimizer's state nor the EMA holds them)
 * and it runs in inference mode, its BatchNorm statistics kept.
 */
export function detectorView(model: DetectionModel, quick: boolean): TrainableModel {
  const head = (key: string) => key.startsWith('extra_layers.') || key.startsWith('ssd_heads.');
  return {
    params: quick ? new Map([...model.params].filter(([key]) => head(key))) : model.params,
    headKeys: [...model.params.keys()].filter(head),
    forward: (x: tf.Tensor4D, opts?: ForwardOptions) => model.joined(x, { ...opts, frozenBackbone: quick }),
  };
}

/** The view of `model` a trainer steps and the objective it minimises; `quick`: a detector's quick run (detectorView). */
export function trainingOf(model: AnyNetwork, quick = false): { view: TrainableModel; objective: Objective } {
  if (model instanceof DetectionModel) return { view: detectorView(model, quick), objective: BOX_OBJECTIVE };
  if (quick) throw new Error(`${model.variant}: a quick run by steps trains a detector's heads only`);
  return { view: model, objective: model instanceof Model ? CLASSIFICATION_OBJECTIVE : PIXEL_OBJECTIVE };
}
