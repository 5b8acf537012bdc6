// createNetwork builds any registered network with its family's default outputs unless told a count (what profile,
// the dense benchmarks and a dense network without weights take), and refuses a name the registry does not know.
import { describe, expect, it } from 'vitest';
import { createNetwork } from '../../src/model/networks.ts';
import { familyOf, type NetworkName } from '../../src/model/registry/index.ts';

describe('createNetwork', () => {
  it("takes the family's default class count unless given one, for every task", () => {
    for (const [name, want] of [['mobilevit_xxs', 1000], ['deeplabv3_mobilevit_xxs', 21], ['ssdlite_mobilevit_xxs', 81]] as const) {
      expect(familyOf(name)?.defaultClasses).toBe(want);
      const byDefault = createNetwork(name);
      const given = createNetwork(name, 5, 3);
      expect([byDefault.variant, byDefault.numClasses, given.numClasses]).toEqual([name, want, 5]);
      byDefault.dispose();
      given.dispose();
    }
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => createNetwork('mobilevit_huge' as NetworkName)).toThrow(/unknown network "mobilevit_huge" \(expected one of .*mobilevit_xxs/);
  });
});
