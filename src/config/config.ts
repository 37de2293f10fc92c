import fs from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { describeErrno } from '../kernel/read-file.js';
import { CONFIG_FILE, configError, configPlaces, defaultProfiling } from './config-present.js';

/**
 * headroom.toml: options that belong to a deployment rather than to one command line, such as which
 * components of a system to profile. Read from the working directory, else from $HEADROOM_HOME; every
 * option can also come from the environment as HEADROOM__SECTION__KEY, which wins over the file.
 */
const schema = z
  .object({
    profiling: z
      .object({
        /** Components (as named by `headroom run --component`) whose runs are profiled. */
        components: z.array(z.string().min(1)).default([]),
        /** growth: cheap attribution of memory growth to stacks; tracemalloc: exact allocation sites. */
        python_profiler: z.enum(['growth', 'tracemalloc']).default('growth'),
      })
      .strict()
      .default(defaultProfiling),
  })
  .strict();

export type HeadroomConfig = z.infer<typeof schema>;

export { CONFIG_FILE } from './config-present.js';

export interface ConfigSource {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The configuration in force: defaults, then the file, then HEADROOM__ variables. */
export function loadConfig(source: ConfigSource): HeadroomConfig & { file: string | null } {
  const file = findConfigFile(source);
  const text = file === null ? '' : readText(file);
  let document: Record<string, unknown> = {};
  if (file !== null) {
    try {
      document = parse(text) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof TomlError) {
        const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
        throw configError(`${file}:${error.line}: ${reason}`, file);
      }
      throw error;
    }
  }
  const checked = schema.safeParse(document);
  if (!checked.success)
    throw configError(describeIssue(file ?? CONFIG_FILE, text, checked.error), file ?? undefined);
  const config = checked.data;
  applyEnvironment(config, source.env);
  return { ...config, file };
}

function findConfigFile({ cwd, env }: ConfigSource): string | null {
  return configPlaces(cwd, env).find((place) => fs.existsSync(place)) ?? null;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw configError(`${file}: cannot read: ${describeErrno(error)}`, file);
  }
}

/** "headroom.toml:3: profiling.components: expected an array of strings". */
function describeIssue(file: string, text: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${file}: invalid`;
  const keyPath = issue.path.map(String);
  const [section, key] = keyPath;
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const known = keyPath.length === 0 ? Object.keys(schema.shape) : knownKeys(section);
    const unknown = issue.keys[0] ?? '';
    const line = lineOf(
      text,
      keyPath.length === 0 ? unknown : section,
      keyPath.length === 0 ? undefined : unknown,
    );
    const where = keyPath.length === 0 ? `[${unknown}]` : `${section}.${unknown}`;
    return `${file}${line ? `:${line}` : ''}: unknown option ${where} (known: ${known.join(', ')})`;
  }
  if (issue.code === 'invalid_type') what = `expected ${issue.expected}`;
  if (issue.code === 'invalid_value') what = `expected one of ${issue.values.map(String).join(', ')}`;
  const line = lineOf(text, section, key);
  return `${file}${line ? `:${line}` : ''}: ${keyPath.join('.')}: ${what}`;
}

function knownKeys(section: string | undefined): string[] {
  const shape = section === 'profiling' ? schema.shape.profiling.unwrap().shape : {};
  return Object.keys(shape);
}

/**
 * The line where a section's key (or the section itself) is written: smol-toml reports positions only for
 * syntax errors, and "which line is wrong" is what a user needs.
 */
function lineOf(text: string, section: string | undefined, key: string | undefined): number | undefined {
  if (!section) return undefined;
  const lines = text.split('\n');
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      inSection = header[1] === section;
      if (inSection && key === undefined) return i + 1;
      continue;
    }
    if (inSection && key !== undefined && new RegExp(`^"?${escapeRegExp(key)}"?\\s*=`).test(line))
      return i + 1;
    if (
      !inSection &&
      key !== undefined &&
      new RegExp(`^${escapeRegExp(section)}\\.${escapeRegExp(key)}\\s*=`).test(line)
    )
      return i + 1;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * HEADROOM__PROFILING__COMPONENTS="scheduler,dag_processor": lists are comma-separated (empty = none).
 * A variable naming no option is an error: a typo would otherwise silently leave the default in force.
 */
function applyEnvironment(config: HeadroomConfig, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('HEADROOM__') || value === undefined) continue;
    const [section, key, ...rest] = name.slice('HEADROOM__'.length).toLowerCase().split('__');
    if (section === 'profiling' && rest.length === 0) {
      if (key === 'components') {
        config.profiling.components = value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean);
        continue;
      }
      if (key === 'python_profiler') {
        if (value !== 'growth' && value !== 'tracemalloc')
          throw configError(`${name}: "${value}" is not a Python profiler (one of: growth, tracemalloc)`);
        config.profiling.python_profiler = value;
        continue;
      }
    }
    throw configError(
      `${name}: no such option (known: HEADROOM__PROFILING__COMPONENTS, HEADROOM__PROFILING__PYTHON_PROFILER)`,
    );
  }
}
