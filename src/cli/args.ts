// A small, strict flag parser: every command declares its flags, and anything else is a clear error.
export type FlagType = 'string' | 'number' | 'boolean';
export interface FlagSpec {
  type: FlagType;
  description: string;
  default?: string | number | boolean;
  /** What the value looks like in help, e.g. 'auto|lo,hi' (default: the type). */
  value?: string;
}
export type ParsedFlags = Record<string, string | number | boolean | undefined>;

/** A user-facing error: the CLI prints its message as one line on stderr and exits non-zero. */
export class UsageError extends Error {}

export function parseFlags(argv: string[], specs: Record<string, FlagSpec>): ParsedFlags {
  const out: ParsedFlags = {};
  for (const [name, spec] of Object.entries(specs)) if (spec.default !== undefined) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    // Own keys only: "--constructor" or "--__proto__" must not find Object.prototype's members.
    const specOf = (n: string): FlagSpec | undefined => (Object.hasOwn(specs, n) ? specs[n] : undefined);
    const negated = name.startsWith('no-') && !specOf(name) && specOf(name.slice(3))?.type === 'boolean';
    if (negated) name = name.slice(3);
    const spec = specOf(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.type === 'boolean') {
      if (value !== undefined && !['true', 'false'].includes(value)) throw new UsageError(`--${name} takes no value`);
      out[name] = negated ? false : value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

/** Runs `f`, reporting an out-of-range input (a RangeError from the library code) as a usage error. */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof RangeError ? new UsageError(e.message) : e;
  }
}

export function requireFlag<T extends string | number>(flags: ParsedFlags, name: string): T {
  const v = flags[name];
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v as T;
}

export function positiveInt(flags: ParsedFlags, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return v;
}
