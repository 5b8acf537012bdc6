// The small schema pieces the contract's domain files share (integer ranges, probabilities, the 'auto' recipe
// value). Not part of the contract's public face: contract.ts does not re-export them.
import { z } from 'zod';

export const int = (min: number, max: number) => z.number().int().min(min).max(max);
export const finite = z.number().finite();
export const prob = z.number().min(0).max(1);
export const Cell = z.tuple([int(0, 4096), int(0, 4096)]);

/** A recipe value the studio may choose from the dataset scan (src/protocol/recipe.ts); an explicit value wins. */
export const auto = <T extends z.ZodTypeAny>(t: T) => z.union([z.literal('auto'), t]);
