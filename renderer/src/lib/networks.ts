// The networks the window offers, as the model registry lists them through the contract (NETWORKS): a
// variant added to the registry appears in every picker without an edit here.
import { NETWORKS, type NetworkChoice } from '../../../src/protocol/contract.ts';

/** The networks the studio trains, profiles and evaluates today: the classifiers. */
export function trainableNetworks(): NetworkChoice[] {
  return NETWORKS.filter((n) => n.task === 'classification');
}

/** The trainable networks with attention to inspect (MobileNetV2 has none). */
export function attentionNetworks(): NetworkChoice[] {
  return trainableNetworks().filter((n) => n.attention);
}
