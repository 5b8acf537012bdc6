// CLI flags generated from the contract's TrainSettings schema: one flag per field (augmentation's fields
// flattened), its help text from the field's `.describe()`, its default read from the schema. Nothing is
// restated here, so a field added to the schema gets its flag, help and default without touching the CLI.
// Flags left out are left out of the settings too: the schema's defaults (or 'auto') apply there.
import { z } from 'zod';
import { TrainSettings } from '../protocol/contract.ts';
import { UsageError, type FlagSpec, type ParsedFlags } from './args.ts';

/** One generated flag: where its value goes in TrainSettings and how its text becomes that value. */
export interface SettingFlag {
  flag: string;
  /** Path in TrainSettings, e.g. ['augmentation', 'cropScale']. */
  path: string[];
  spec: FlagSpec;
  parse(value: string | number | boolean): unknown;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

interface Unwrapped {
  inner: z.ZodTypeAny;
  description?: string;
  default?: unknown;
  nullable: boolean;
}

/** Peels optional/nullable/default/effects wrappers, keeping the first description and the default. */
function unwrap(t: z.ZodTypeAny): Unwrapped {
  let description = t.description;
  let dflt: unknown;
  let nullable = false;
  for (;;) {
    description ??= t.description;
    if (t instanceof z.ZodDefault) { dflt ??= t._def.defaultValue(); t = t._def.innerType; }
    else if (t instanceof z.ZodOptional) t = t._def.innerType;
    else if (t instanceof z.ZodNullable) { nullable = true; t = t._def.innerType; }
    else if (t instanceof z.ZodEffects) t = t._def.schema;
    else return { inner: t, description, default: dflt, nullable };
  }
}

function showValue(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** The flag's type, value hint and parser for a schema type (after unwrapping). */
function parserFor(flag: string, t: z.ZodTypeAny, nullable: boolean): { type: FlagSpec['type']; value?: string; parse: (v: string | number | boolean) => unknown } {
  const bad = (v: unknown, want: string): never => { throw new UsageError(`--${flag} must be ${want}, got "${String(v)}"`); };
  const number = (v: string | number | boolean): number => {
    const n = typeof v === 'number' ? v : Number(v);
    return typeof v === 'boolean' || String(v).trim() === '' || !Number.isFinite(n) ? bad(v, 'a number') : n;
  };
  if (t instanceof z.ZodUnion) {
    const options = (t._def.options as z.ZodTypeAny[]).map((o) => unwrap(o).inner);
    const literals = options.filter((o): o is z.ZodLiteral<string> => o instanceof z.ZodLiteral).map((o) => o.value);
    const rest = options.filter((o) => !(o instanceof z.ZodLiteral));
    if (rest.length !== 1) throw new Error(`settings flag --${flag}: unsupported union`);
    const other = parserFor(flag, rest[0], nullable);
    return {
      type: 'string',
      value: [...literals, other.value ?? other.type].join('|'),
      parse: (v) => (typeof v === 'string' && literals.includes(v) ? v : other.parse(v)),
    };
  }
  if (nullable) {
    const other = parserFor(flag, t, false);
    return { type: 'string', value: `${other.value ?? other.type}|none`, parse: (v) => (v === 'none' ? null : other.parse(v)) };
  }
  if (t instanceof z.ZodNumber) {
    if (!t.isInt) return { type: 'number', parse: number }; // ranges are checked by the schema, naming the field
    const lo = t.minValue ?? -Infinity;
    const hi = t.maxValue ?? Infinity;
    // The schema's own range (imageSize: 32 to 1024), so the flag's error and the rule cannot drift apart.
    const want = lo === 1 ? `a positive integer${hi < Infinity ? ` up to ${hi}` : ''}` : `a whole number from ${lo} to ${hi}`;
    return { type: 'number', parse: (v) => { const n = number(v); return Number.isInteger(n) && n >= lo && n <= hi ? n : bad(v, want); } };
  }
  if (t instanceof z.ZodBoolean) return { type: 'boolean', parse: (v) => v };
  if (t instanceof z.ZodEnum) {
    const values = t._def.values as string[];
    return { type: 'string', value: values.join('|'), parse: (v) => (values.includes(String(v)) ? v : bad(v, `one of ${values.join(', ')}`)) };
  }
  if (t instanceof z.ZodString) return { type: 'string', parse: (v) => String(v) };
  if (t instanceof z.ZodTuple) {
    const n = (t._def.items as unknown[]).length;
    return {
      type: 'string',
      value: Array.from({ length: n }, (_, i) => ['lo', 'hi'][i] ?? `v${i}`).join(','),
      parse: (v) => {
        const parts = String(v).split(',');
        return parts.length === n ? parts.map(number) : bad(v, `${n} numbers separated by a comma`);
      },
    };
  }
  throw new Error(`settings flag --${flag}: no flag type for ${t.constructor.name}`);
}

function walk(shape: z.ZodRawShape, prefix: string[], out: SettingFlag[]): void {
  for (const [key, field] of Object.entries(shape)) {
    const u = unwrap(field);
    if (u.inner instanceof z.ZodObject) {
      walk(u.inner.shape, [...prefix, key], out);
      continue;
    }
    const flag = kebab(key);
    const p = parserFor(flag, u.inner, u.nullable);
    const dflt = u.default === true ? ` (default on; --no-${flag} turns it off)` : u.default !== undefined ? ` (default ${showValue(u.default)})` : '';
    out.push({ flag, path: [...prefix, key], spec: { type: p.type, value: p.value, description: `${u.description ?? key}${dflt}` }, parse: p.parse });
  }
}

/** Every TrainSettings field as a flag, in the schema's order. */
export const TRAIN_SETTING_FLAGS: readonly SettingFlag[] = (() => {
  const out: SettingFlag[] = [];
  walk(TrainSettings.shape, [], out);
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.flag)) throw new Error(`two TrainSettings fields map to --${f.flag}`);
    seen.add(f.flag);
  }
  return out;
})();

/**
 * The generated flags for the fields in `only` (paths such as 'imageSize' or 'augmentation.cropScale'; all when
 * omitted). `describe` replaces a flag's help where a command gives it another meaning (keyed by flag name).
 */
export function settingFlags(only?: readonly string[], describe: Record<string, string> = {}): SettingFlag[] {
  const list = only
    ? only.map((p) => TRAIN_SETTING_FLAGS.find((f) => f.path.join('.') === p) ?? (() => { throw new Error(`no TrainSettings field ${p}`); })())
    : [...TRAIN_SETTING_FLAGS];
  return list.map((f) => (describe[f.flag] ? { ...f, spec: { ...f.spec, description: describe[f.flag] } } : f));
}

export function flagSpecs(list: readonly SettingFlag[]): Record<string, FlagSpec> {
  return Object.fromEntries(list.map((f) => [f.flag, f.spec]));
}

/** The settings the given flags set, nested as TrainSettings (augmentation.*); unset flags are absent. */
export function settingsFromFlags(flags: ParsedFlags, list: readonly SettingFlag[] = TRAIN_SETTING_FLAGS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of list) {
    const v = flags[f.flag];
    if (v === undefined) continue;
    let at = out;
    for (const k of f.path.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[f.path[f.path.length - 1]] = f.parse(v);
  }
  // A quick run solves its classifier without lr or epochs (headSolver optimum); asking for either is asking for steps.
  if (out.headOnly === true && out.headSolver === undefined && (out.lr !== undefined || out.epochs !== undefined)) out.headSolver = 'steps';
  return out;
}
