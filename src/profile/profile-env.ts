import path from 'node:path';
import { preloadPaths } from '../bundled/bundled-files.js';
import {
  PROFILE_DIR_ENV,
  PROFILE_LIMIT_ENV,
  PROFILE_START_ENV,
  PROFILE_USAGE_FILE_ENV,
  PYTHON_PROFILER_ENV,
} from './profile-format.js';

export type PythonProfiler = 'growth' | 'tracemalloc';

export interface ProfileSettings {
  /** The spool directory the profilers write to. */
  dir: string;
  startMs: number;
  python: PythonProfiler;
  /** The cgroup file holding usage, for tracemalloc's check that a snapshot fits. */
  usageFile: string | null;
  limit: number | null;
}

/**
 * The job's environment with the profilers switched on: Node's preload goes first in NODE_OPTIONS and the
 * Python preload first on PYTHONPATH, both kept beside whatever the user set (their own --require and
 * sitecustomize still load).
 */
export function profileEnv(env: NodeJS.ProcessEnv, settings: ProfileSettings): NodeJS.ProcessEnv {
  const { nodePreload, pythonDir: pythonPreload } = preloadPaths();
  const require = `--require ${quoteNodeOption(nodePreload)}`;
  const pythonPath = (env.PYTHONPATH ?? '').split(path.delimiter).filter(Boolean);
  const profiled: NodeJS.ProcessEnv = {
    ...env,
    NODE_OPTIONS: env.NODE_OPTIONS ? `${require} ${env.NODE_OPTIONS}` : require,
    PYTHONPATH: pythonPath.includes(pythonPreload)
      ? env.PYTHONPATH
      : [pythonPreload, ...pythonPath].join(path.delimiter),
    [PROFILE_DIR_ENV]: settings.dir,
    [PROFILE_START_ENV]: String(settings.startMs),
    [PYTHON_PROFILER_ENV]: settings.python,
  };
  if (settings.usageFile) profiled[PROFILE_USAGE_FILE_ENV] = settings.usageFile;
  if (settings.limit !== null) profiled[PROFILE_LIMIT_ENV] = String(settings.limit);
  return profiled;
}

/** NODE_OPTIONS splits on spaces unless a value is double-quoted (with \ escaping " and \). */
function quoteNodeOption(value: string): string {
  return /[\s"\\]/.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : value;
}
