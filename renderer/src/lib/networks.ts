// The networks the window offers, as the model registry lists them through the contract (NETWORKS): a
// variant added to the registry appears in every picker without an edit here.
import { NETWORKS, type NetworkChoice, type TaskName } from '../../../src/protocol/contract.ts';

/** The classifiers: what a classification run trains. */
export function trainableNetworks(): NetworkChoice[] {
  return taskNetworks('classification');
}

/** Every network, DeepLabv3 and SSDLite too: what the Latency view profiles. */
export function profiledNetworks(): readonly NetworkChoice[] {
  return NETWORKS;
}

/** The networks a run of `task` trains: classifiers, DeepLabv3 or SSDLite networks. */
export function taskNetworks(task: TaskName): NetworkChoice[] {
  return NETWORKS.filter((n) => n.task === task);
}

/** The networks with attention to inspect: MobileViT classifiers, and DeepLabv3 and SSDLite on their backbones (MobileNetV2 has none). */
export function attentionNetworks(): NetworkChoice[] {
  return NETWORKS.filter((n) => n.attention);
}

// A segmentation or detection run's settings name its backbone (variant mobilevit_xs); the network it trains is
// the registry's network of that task on it (deeplabv3_mobilevit_xs), as src/train/tasks and the CLI's --variant read them.

/** The network a run of `task` on backbone `variant` trains (the variant itself when the registry pairs none). */
export function networkFor(task: TaskName, variant: string): string {
  return NETWORKS.find((n) => n.task === task && n.backbone === variant)?.name ?? variant;
}

/** The settings' variant (the backbone) for a network. */
export function backboneOf(network: string): string {
  return NETWORKS.find((n) => n.name === network)?.backbone ?? network;
}

/**
 * Whether weights of network `variant` can start a run of `task`: a segmentation or detection network its own task,
 * a classifier any task with a network on its backbone (MobileNetV2 has no DeepLabv3 or SSDLite here).
 */
export function startsTask(variant: string, task: TaskName): boolean {
  const own = NETWORKS.find((n) => n.name === variant)?.task;
  return own === task || (own === 'classification' && taskNetworks(task).some((n) => n.backbone === variant));
}
