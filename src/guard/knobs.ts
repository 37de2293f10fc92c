import path from 'node:path';
import type { GuardKnob } from '../record/capture-format.js';

const MiB = 1024 * 1024;

export interface KnobRequest {
  /** The limit that applies to the job, bytes; null: none, and nothing to set. */
  limit: number | null;
  /** The job's environment as the user gave it. */
  env: NodeJS.ProcessEnv;
  /** The command and its arguments: a flag given there counts as the user's own. */
  command: readonly string[];
  /** How many Node processes share the limit at once (Node sizes each heap as if it were alone). */
  nodeProcesses: number;
  /** The directory holding the Python preload (sitecustomize.py). */
  pythonPreload: string;
  /** Where the Python preload reports a MemoryError it raised. */
  guardLog: string;
}

export interface Knobs {
  /** The job's environment with the knobs set. */
  env: NodeJS.ProcessEnv;
  /** What was set, for the capture and the user. */
  knobs: GuardKnob[];
}

/**
 * Runtime settings that make a job's runtimes respect the limit, computed from the limit that really
 * applies. Only what the user has not set is set: their own flag always wins.
 */
export function runtimeKnobs(request: KnobRequest): Knobs {
  const { limit, command } = request;
  const env = { ...request.env };
  const knobs: GuardKnob[] = [];
  if (limit === null) return { env, knobs };

  // V8's heap is only part of a Node process: code, buffers and the young generation live outside it.
  const heapMiB = Math.max(
    16,
    Math.floor(Math.min(0.75 * limit, limit - 64 * MiB) / request.nodeProcesses / MiB),
  );
  if (!hasMaxOldSpace(command) && !hasMaxOldSpace(words(env.NODE_OPTIONS))) {
    const flag = `--max-old-space-size=${heapMiB}`;
    env.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${flag}` : flag;
    knobs.push({ runtime: 'node', setting: `NODE_OPTIONS=${flag}`, bytes: heapMiB * MiB });
  }

  // Go's soft limit covers everything the Go runtime maps; leave a tenth for the rest.
  const goBytes = Math.floor((0.9 * limit) / MiB) * MiB;
  if (!env.GOMEMLIMIT) {
    env.GOMEMLIMIT = `${goBytes / MiB}MiB`;
    knobs.push({ runtime: 'go', setting: `GOMEMLIMIT=${env.GOMEMLIMIT}`, bytes: goBytes });
  }

  // MaxRAM pins what the JVM believes it has, so it no longer depends on which cgroup it reads.
  const javaUserSet = /-XX:(MaxRAM|MaxRAMPercentage|MaxRAMFraction|MaxHeapSize)=|-Xmx/.test(
    `${env.JAVA_TOOL_OPTIONS ?? ''} ${env.JDK_JAVA_OPTIONS ?? ''} ${env._JAVA_OPTIONS ?? ''} ${command.join(' ')}`,
  );
  if (!javaUserSet) {
    const options = `-XX:MaxRAM=${limit} -XX:MaxRAMPercentage=75.0`;
    env.JAVA_TOOL_OPTIONS = env.JAVA_TOOL_OPTIONS ? `${env.JAVA_TOOL_OPTIONS} ${options}` : options;
    knobs.push({ runtime: 'java', setting: `JAVA_TOOL_OPTIONS=${options}`, bytes: Math.floor(0.75 * limit) });
  }

  // Below the limit by a tenth (at least 32 MiB): room for the kernel's share, other processes and the
  // interpreter's file-backed pages, which RLIMIT_DATA does not count.
  // HEADROOM_PYTHON_RLIMIT_DATA already set (empty to opt out) is the user's own choice.
  if (env.HEADROOM_PYTHON_RLIMIT_DATA !== undefined) return { env, knobs };
  const dataBytes = Math.max(16 * MiB, limit - Math.max(32 * MiB, Math.floor(0.1 * limit)));
  env.PYTHONPATH = env.PYTHONPATH
    ? `${request.pythonPreload}${path.delimiter}${env.PYTHONPATH}`
    : request.pythonPreload;
  env.HEADROOM_PYTHON_RLIMIT_DATA = String(dataBytes);
  env.HEADROOM_GUARD_LOG = request.guardLog;
  knobs.push({ runtime: 'python', setting: `RLIMIT_DATA=${dataBytes}`, bytes: dataBytes });
  return { env, knobs };
}

/** One line for the user: what was set, as set; or, compact, what each runtime was granted. */
export function describeKnobs(knobs: readonly GuardKnob[], compact = false): string {
  const granted: Record<GuardKnob['runtime'], string> = {
    node: 'Node heap',
    go: 'GOMEMLIMIT',
    java: 'JVM heap',
    python: 'Python RLIMIT_DATA',
  };
  return knobs
    .map((knob) =>
      compact || knob.runtime === 'python'
        ? `${granted[knob.runtime]} ${Math.round(knob.bytes / MiB)} MiB`
        : knob.setting,
    )
    .join(', ');
}

function hasMaxOldSpace(args: readonly string[]): boolean {
  return args.some((arg) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(arg));
}

function words(text: string | undefined): string[] {
  return text ? text.split(/\s+/).filter(Boolean) : [];
}
