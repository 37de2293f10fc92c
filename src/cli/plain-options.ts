import { parseArgs } from 'node:util';
import type { OptionSpec } from './option-spec.js';

/**
 * A command line read without commander: option values by commander's names for them (`Flags`, the
 * shape the specs declare, as a commander action is handed them), and operands.
 */
export interface PlainCommandLine<Flags> {
  flags: Flags;
  operands: string[];
}

interface Declared {
  /** The key commander gives the value under: camelCase, without a negation's "no-". */
  key: string;
  takesValue: boolean;
  negates: boolean;
  defaultValue: string | undefined;
}

/**
 * Reads `args` (the words after the command's name) as commander would read them for a command with
 * the options `specs` and operands passed through (passThroughOptions: from the first operand, or after
 * `--`, every word is an operand), when the line is plain: only options of `specs`, each written as
 * `--name`, `--name value`, `--name=value`, `-x`, `-x value` or `-xvalue`, then at least one operand.
 * Anything else (help, an unknown or incomplete option, short flags run together, no operand) gives
 * undefined: commander then reads the line, and runs it or says what is wrong with it.
 *
 * Why not always commander: loading it and building its program was about 2 ms and 170 KiB of young
 * objects at every `headroom run`, before the job could start.
 */
export function parsePlainOptions<Flags>(
  args: readonly string[],
  specs: readonly OptionSpec[],
): PlainCommandLine<Flags> | undefined {
  const declared = new Map<string, Declared>();
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const { flags, defaultValue } of specs) {
    const match = /^(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)( <[^>]+>)?$/.exec(flags);
    if (!match?.[2]) throw new Error(`plain-options: cannot read the option "${flags}"`);
    const [, short, long, value] = match;
    options[long] = { type: value ? 'string' : 'boolean', ...(short ? { short } : {}) };
    const negates = long.startsWith('no-');
    declared.set(long, {
      key: camelCase(negates ? long.slice(3) : long),
      takesValue: value !== undefined,
      negates,
      defaultValue,
    });
  }
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    ({ tokens } = parseArgs({
      args: [...args],
      options,
      strict: false,
      allowPositionals: true,
      tokens: true,
    }));
  } catch {
    return undefined;
  }
  const flags = defaults(declared);
  for (const token of tokens) {
    if (token.kind !== 'option') {
      const start = token.kind === 'positional' ? token.index : token.index + 1;
      return start < args.length ? { flags: flags as Flags, operands: args.slice(start) } : undefined;
    }
    const option = declared.get(token.name);
    if (!option || !writtenPlainly(args[token.index], token, option.takesValue)) return undefined;
    flags[option.key] = option.negates ? false : (token.value ?? true);
  }
  return undefined;
}

/** Commander's starting values: each declared default, and true for a "--no-x" without an "--x". */
function defaults(declared: Map<string, Declared>): Record<string, string | boolean> {
  const flags: Record<string, string | boolean> = {};
  const positive = new Set(
    [...declared.values()].filter((option) => !option.negates).map((option) => option.key),
  );
  for (const option of declared.values()) {
    if (option.defaultValue !== undefined) flags[option.key] = option.defaultValue;
    else if (option.negates && !positive.has(option.key)) flags[option.key] = true;
  }
  return flags;
}

/**
 * Whether an option's word is one of the plain forms: the option alone (its value, if it takes one, the
 * next word), or with its value joined (`--name=value`, `-xvalue`). A word of several short flags, a
 * missing value or a value given to a switch is not.
 */
function writtenPlainly(
  word: string | undefined,
  token: { rawName: string; value?: string | undefined; inlineValue?: boolean | undefined },
  takesValue: boolean,
): boolean {
  if (!takesValue) return token.value === undefined && word === token.rawName;
  if (token.value === undefined) return false;
  if (!token.inlineValue) return word === token.rawName;
  const joined = token.rawName.startsWith('--')
    ? `${token.rawName}=${token.value}`
    : `${token.rawName}${token.value}`;
  return word === joined;
}

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}
