import v8 from 'node:v8';
import { HeadroomError } from '../errors.js';
import {
  type EffectiveLimit,
  effectiveLimit,
  type HostMemory,
  type HostPaths,
  type JobCgroupRoom,
  jobCgroupRoom,
  locateMemoryCgroup,
  type MemoryCgroup,
  type MemorySample,
  openCgroupReader,
  readHostMemory,
  realHost,
} from '../kernel/index.js';

export type LimitsReport =
  | {
      available: true;
      cgroup: Pick<MemoryCgroup, 'version' | 'path' | 'readOnly' | 'ancestorsHidden'>;
      /** Whether `headroom run` can give a job a cgroup of its own here, and how. */
      jobCgroup: JobCgroupRoom;
      limit: EffectiveLimit;
      usage: MemorySample;
      host: HostMemory;
      runtimes: RuntimeCeilings;
    }
  | {
      available: false;
      /** Why no limit can be read (E_NOT_LINUX, E_NO_MEMORY_CONTROLLER, E_CGROUP_NOT_FOUND). */
      error: HeadroomError;
      host: HostMemory | null;
      runtimes: RuntimeCeilings;
    };

export interface RuntimeCeilings {
  /** V8's heap_size_limit in this Node process: what a Node job started the same way would get. */
  nodeHeapLimit: number;
  /** What Python's os.sysconf('SC_PHYS_PAGES') and psutil report: the host's memory, not the limit. */
  pythonSees: number | null;
}

/** The limit this process is really under, where it comes from, and what is using it now. */
export function limits(host: HostPaths = realHost): LimitsReport {
  const hostMemory = safeHostMemory(host);
  const runtimes: RuntimeCeilings = {
    nodeHeapLimit: v8.getHeapStatistics().heap_size_limit,
    pythonSees: hostMemory?.total ?? null,
  };
  const located = locateMemoryCgroup('self', host);
  if (!located.ok) {
    const error = new HeadroomError(located.code, located.message);
    return { available: false, error, host: hostMemory, runtimes };
  }
  const { cgroup } = located;
  const reader = openCgroupReader(cgroup, host);
  let usage: MemorySample;
  try {
    usage = reader.read();
  } finally {
    reader.close();
  }
  return {
    available: true,
    cgroup: {
      version: cgroup.version,
      path: cgroup.path,
      readOnly: cgroup.readOnly,
      ancestorsHidden: cgroup.ancestorsHidden,
    },
    jobCgroup: jobCgroupRoom(cgroup),
    limit: effectiveLimit(cgroup),
    usage,
    host: hostMemory ?? { total: 0, available: 0, swapTotal: 0, swapFree: 0 },
    runtimes,
  };
}

function safeHostMemory(host: HostPaths): HostMemory | null {
  try {
    return readHostMemory(host);
  } catch {
    return null;
  }
}
