// A small command-line parser for the pygration CLI: `--flag`, `--key value`, `--key=value`, and `--` to
// end options (everything after it is the child command of `pygration run`). Unknown options are errors.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Options that take a value. */
  values: readonly string[];
  /** Options that are plain switches. */
  flags: readonly string[];
}

export interface ParsedArgs {
  options: Map<string, string>;
  flags: Set<string>;
  positional: string[];
  /** Arguments after `--`. */
  rest: string[];
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const out: ParsedArgs = { options: new Map(), flags: new Set(), positional: [], rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-') throw new UsageError(`Unknown option ${a}.`);
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
      out.flags.add(name);
    } else if (spec.values.includes(name)) {
      let value: string | undefined;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (i + 1 < argv.length && argv[i + 1] !== '--') value = argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value.`);
      out.options.set(name, value);
    } else {
      throw new UsageError(`Unknown option --${name}.`);
    }
  }
  return out;
}

/** Parses a positive integer option; throws UsageError naming the option. */
export function intOption(args: ParsedArgs, name: string, min = 1): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${name} must be an integer ≥ ${min}, not '${v}'.`);
  return Number(v);
}

/** Parses a positive number option (seconds). */
export function numberOption(args: ParsedArgs, name: string): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, not '${v}'.`);
  return n;
}
