// Flags and set-up that several commands share: the backend, the variant, a model from weights.
import { BACKEND_NAMES, formatBackendBanner, initBackend, type BackendReport } from '../backend/index.ts';
import type { FlagSpec, ParsedFlags } from './args.ts';
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import { parseVariant } from '../model/from-file.ts';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE, VARIANT_NAMES, type VariantName } from '../model/types.ts';

export const BACKEND_FLAG: FlagSpec = { type: 'string', description: `${BACKEND_NAMES.join(' | ')} (default: fastest available; env MOBILEVIT_BACKEND)` };
export const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'print JSON instead of a table' };
export const VARIANT_FLAG: FlagSpec = { type: 'string', description: VARIANT_NAMES.join(' | ') };

/** Starts the backend and reports it on stderr (stdout stays clean for JSON). */
export async function setupBackend(flags: ParsedFlags, io: CliIO): Promise<BackendReport> {
  const report = await initBackend(flags.backend as string | undefined);
  io.err(formatBackendBanner(report));
  return report;
}

export function variantFlag(flags: ParsedFlags, required = true): VariantName {
  if (flags.variant === undefined) {
    if (required) throw new UsageError(`--variant is required (${VARIANT_NAMES.join(', ')})`);
    return 'mobilevit_xxs';
  }
  try {
    return parseVariant(flags.variant as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** An input side the model takes: a usage error naming the flag otherwise. */
export function inputSize(size: number, flag: string): number {
  if (size < MIN_INPUT_SIZE || size > MAX_INPUT_SIZE) throw new UsageError(`--${flag} must be between ${MIN_INPUT_SIZE} and ${MAX_INPUT_SIZE} px, got ${size}`);
  return size;
}

/** Formats rows as an aligned text table (numbers right-aligned). */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r, ri) => r.map((c, i) => (typeof rows[ri - 1]?.[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export const fmtInt = (n: number) => n.toLocaleString('en-US');
export const fmtMacs = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);
