import type { MemoryCgroup } from '../kernel/index.js';
import { SizeError } from './parse-size.js';

/**
 * Where views of many cgroups start: the given hierarchy directory, or the top of what this process's
 * mount shows (a host's whole tree; a container's own cgroup). A string says why there is none.
 */
export async function topCgroup(cgroupRoot: string | undefined): Promise<MemoryCgroup | string> {
  const { cgroupHierarchyAt, hostPaths, locateMemoryCgroup, visibleTop } = await import('../kernel/index.js');
  if (cgroupRoot !== undefined) {
    const at = cgroupHierarchyAt(cgroupRoot);
    return 'error' in at ? at.error : at;
  }
  const located = locateMemoryCgroup('self', hostPaths());
  return located.ok ? visibleTop(located.cgroup) : located.message;
}

/** --filter: a regular expression over cgroup paths. */
export function parseFilter(text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch {
    throw new SizeError(`--filter: "${text}" is not a regular expression`);
  }
}
