import type { Command } from 'commander';
import { configInUse, defaultProfiling } from '../config/config-present.js';
import type { GuardOptions } from '../guard/job-guard.js';
import type { OnLimit } from '../guard/watchdog.js';
import type { RunOptions } from '../run/run.js';
import { badOption } from './bad-option.js';
import { declareOptions, type OptionSpec } from './option-spec.js';
import { parseMemory, parseMemorySwap } from './parse-size.js';

/** The flags of every command that runs a job (run, supervise), as commander (or parsePlainOptions) hands them over. */
export interface JobFlags {
  memory?: string;
  memorySwap?: string;
  interval: string;
  component?: string;
  quiet?: boolean;
  observe?: boolean;
  grace: string;
  guard: string | false;
  nodeProcesses?: string;
  onLimit?: string;
  watchThreshold?: string;
  profile?: boolean;
  pythonProfiler?: string;
}

const PYTHON_PROFILERS = ['growth', 'tracemalloc'] as const;

const GUARD_MODES = ['knobs', 'watch'];
const ON_LIMIT: readonly OnLimit[] = ['term', 'snapshot', 'reclaim'];

/** The options of every command that runs a job (run, supervise), in help order. */
export const JOB_OPTIONS: readonly OptionSpec[] = [
  { flags: '-m, --memory <size>', description: 'memory limit for the job, as docker run (e.g. 512m, 2g)' },
  { flags: '--memory-swap <size>', description: 'memory plus swap, as docker run; -1 for unlimited swap' },
  { flags: '--interval <ms>', description: 'sampling interval in milliseconds', defaultValue: '100' },
  {
    flags: '--component <name>',
    description:
      'name of the component (scheduler, worker...): names the capture; profiled when headroom.toml [profiling] components lists it',
  },
  {
    flags: '--profile',
    description: "profile the allocations of the job's Node and Python processes, whatever the config says",
  },
  {
    flags: '--python-profiler <mode>',
    description:
      'growth (default: cheap, charges memory growth to Python stacks) or tracemalloc (exact allocation sites, slow); implies --profile',
  },
  {
    flags: '--observe',
    description: 'observe the cgroup headroom runs in instead of making one for the job',
  },
  {
    flags: '--grace <seconds>',
    description: 'after a SIGTERM to the job, SIGKILL it this much later',
    defaultValue: '10',
  },
  { flags: '-q, --quiet', description: 'print nothing of its own (the capture is still written)' },
  {
    flags: '--guard <modes>',
    description:
      'keep the job under its limit, comma-separated: knobs = set Node, Go, JVM and Python memory settings from the limit; watch = act before the OOM killer (see --on-limit)',
    defaultValue: 'knobs',
  },
  { flags: '--no-guard', description: 'set nothing in the job from the limit' },
  {
    flags: '--node-processes <n>',
    description: 'Node processes that share the limit at once (splits the heap knob)',
    defaultValue: '1',
  },
  {
    flags: '--on-limit <action>',
    description: 'with --guard watch: term (SIGTERM, then SIGKILL after --grace), snapshot, or reclaim',
    defaultValue: 'term',
  },
  {
    flags: '--watch-threshold <percent>',
    description:
      'with --guard watch: act when memory that cannot be reclaimed reaches this share of the limit',
    defaultValue: '95',
  },
];

export function addJobOptions(command: Command): Command {
  return declareOptions(command, JOB_OPTIONS).passThroughOptions();
}

/**
 * Checks the job flags; a bad one throws an E_USAGE or E_BAD_SIZE HeadroomError with a one-line message. Reads headroom.toml and
 * HEADROOM__ variables from `source` for what the flags leave open.
 */
export async function parseJobFlags(
  flags: JobFlags,
  source: { cwd: string; env: NodeJS.ProcessEnv } = { cwd: process.cwd(), env: process.env },
): Promise<Omit<RunOptions, 'command'>> {
  const memory = flags.memory === undefined ? undefined : parseMemory(flags.memory);
  const memorySwap = flags.memorySwap === undefined ? undefined : parseMemorySwap(flags.memorySwap, memory);
  const intervalMs = Number(flags.interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 60_000) {
    throw badOption(
      '--interval',
      `"${flags.interval}" must be a whole number of milliseconds from 10 to 60000`,
    );
  }
  const graceSeconds = Number(flags.grace);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) {
    throw badOption('--grace', `"${flags.grace}" must be a number of seconds, 0 or more`);
  }
  return {
    ...(memory === undefined ? {} : { memory }),
    // With --memory alone, run() gives swap docker's default (withSwapDefault), as it does for the library.
    ...(memorySwap === undefined ? {} : { memorySwap }),
    intervalMs,
    ...(flags.component === undefined ? {} : { component: flags.component }),
    observe: flags.observe ?? false,
    quiet: flags.quiet ?? false,
    graceSeconds,
    guard: parseGuard(flags),
    ...(await parseProfiling(flags, source)),
  };
}

/** Profiling is on with --profile or --python-profiler, or when the config lists the component. */
async function parseProfiling(
  flags: JobFlags,
  source: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Pick<RunOptions, 'profile' | 'profileFile'>> {
  const chosen = flags.pythonProfiler;
  if (chosen !== undefined && !(PYTHON_PROFILERS as readonly string[]).includes(chosen)) {
    throw badOption('--python-profiler', `unknown mode "${chosen}" (one of: ${PYTHON_PROFILERS.join(', ')})`);
  }
  // The parser and its schema are loaded only when there is a config to read: headroom's own memory
  // counts against the job's limit, and they cost several MiB.
  const config = configInUse(source)
    ? (await import('../config/config.js')).loadConfig(source)
    : { profiling: defaultProfiling() };
  const python = (chosen ?? config.profiling.python_profiler) as (typeof PYTHON_PROFILERS)[number];
  const listed = flags.component !== undefined && config.profiling.components.includes(flags.component);
  if (!flags.profile && chosen === undefined && !listed) return {};
  // Like Airflow's memray switch: a listed component's profile lands at a name the user can find.
  return { profile: { python }, ...(listed ? { profileFile: `${flags.component}_memory` } : {}) };
}

function parseGuard(flags: JobFlags): GuardOptions {
  const count = Number(flags.nodeProcesses ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 1024) {
    throw badOption('--node-processes', `"${flags.nodeProcesses}" must be a whole number from 1 to 1024`);
  }
  const onLimit = flags.onLimit ?? 'term';
  if (!ON_LIMIT.includes(onLimit as OnLimit)) {
    throw badOption('--on-limit', `unknown action "${onLimit}" (one of: ${ON_LIMIT.join(', ')})`);
  }
  const percent = Number((flags.watchThreshold ?? '95').replace(/%$/, ''));
  if (!Number.isFinite(percent) || percent < 50 || percent > 100) {
    throw badOption(
      '--watch-threshold',
      `"${flags.watchThreshold}" must be a percentage of the limit from 50 to 100`,
    );
  }
  if (flags.guard === false) return { knobs: false, nodeProcesses: count };
  const chosen = flags.guard.split(',').map((mode) => mode.trim());
  for (const mode of chosen) {
    if (!GUARD_MODES.includes(mode)) {
      throw badOption('--guard', `unknown mode "${mode}" (one of: ${GUARD_MODES.join(', ')})`);
    }
  }
  return {
    knobs: chosen.includes('knobs'),
    nodeProcesses: count,
    ...(chosen.includes('watch') ? { watch: { onLimit: onLimit as OnLimit, threshold: percent / 100 } } : {}),
  };
}
