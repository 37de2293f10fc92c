import { HeadroomError } from '../errors.js';
import type { MemoryCgroup } from '../kernel/index.js';
import { badOption } from './bad-option.js';

/**
 * Where views of many cgroups start: the given hierarchy directory, or the top of what this process's
 * mount shows (a host's whole tree; a container's own cgroup). Throws when there is none, saying
 * "no memory cgroups to `verb`" and why.
 */
export async function topCgroup(cgroupRoot: string | undefined, verb: string): Promise<MemoryCgroup> {
  const { cgroupHierarchyAt, hostPaths, locateMemoryCgroup, visibleTop } = await import('../kernel/index.js');
  const none = `no memory cgroups to ${verb}`;
  if (cgroupRoot !== undefined) {
    const at = cgroupHierarchyAt(cgroupRoot);
    if ('error' in at)
      throw new HeadroomError('E_CGROUP_NOT_FOUND', `${none}: ${at.error}`, { path: cgroupRoot });
    return at;
  }
  const located = locateMemoryCgroup('self', hostPaths());
  if (!located.ok) throw new HeadroomError(located.code, `${none}: ${located.message}`);
  return visibleTop(located.cgroup);
}

/** --filter: a regular expression over cgroup paths. */
export function parseFilter(text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch {
    throw badOption('--filter', `"${text}" is not a regular expression`);
  }
}
