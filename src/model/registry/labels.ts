// Names people read for a network's blocks, from its family's table (types.ts blockLabels): what `profile` and the
// Latency view show beside a block's module path.
import { familyOf } from './index.ts';

/** The family's label for block `block` of network `network`; undefined where it gives none (the backbone's blocks). */
export function blockLabel(network: string, block: string): string | undefined {
  const labels = familyOf(network)?.blockLabels;
  return labels && Object.hasOwn(labels, block) ? labels[block] : undefined;
}
