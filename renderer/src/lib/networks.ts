// The networks the window offers, as the model registry lists them through the contract (NETWORKS): a
// variant added to the registry appears in every picker without an edit here.
import { NETWORKS, type NetworkChoice, type TaskName } from '../../../src/protocol/contract.ts';

/** The classifiers: what the Latency view profiles. */
export function trainableNetworks(): NetworkChoice[] {
  return taskNetworks('classification');
}

/** The networks a run of `task` trains: classifiers, DeepLabv3 or SSDLite networks. */
export function taskNetworks(task: TaskName): NetworkChoice[] {
  return NETWORKS.filter((n) => n.task === task);
}

/** The trainable networks with attention to inspect (MobileNetV2 has none). */
export function attentionNetworks(): NetworkChoice[] {
  return trainableNetworks().filter((n) => n.attention);
}

// A segmentation or detection run's settings name its backbone (variant mobilevit_xs); the network it trains is
// DeepLabv3 or SSDLite on it (deeplabv3_mobilevit_xs), as src/train/tasks name them and the CLI's --variant reads them.
const DENSE_PREFIX: Partial<Record<TaskName, string>> = { segmentation: 'deeplabv3_', detection: 'ssdlite_' };

/** The network a run of `task` on backbone `variant` trains. */
export function networkFor(task: TaskName, variant: string): string {
  return `${DENSE_PREFIX[task] ?? ''}${variant}`;
}

/** The settings' variant (the backbone) for a network of `task`. */
export function backboneOf(task: TaskName, network: string): string {
  const prefix = DENSE_PREFIX[task] ?? '';
  return network.startsWith(prefix) ? network.slice(prefix.length) : network;
}
