import fs from 'node:fs';
import { type HostPaths, resolveHostPath } from './host-paths.js';

/** A Kubernetes container as the kubelet's log directories name it. */
export interface PodNames {
  namespace: string;
  pod: string;
  /** Null when the container's name cannot be tied to its id (several containers, no /var/log/containers). */
  container: string | null;
}

// Namespaces and pod names are DNS labels and subdomains: they never hold "_", so the split is exact.
const POD_DIR =
  /^([a-z0-9][a-z0-9-]*)_([a-z0-9][a-z0-9.-]*)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const CONTAINER_LOG = /^([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9-]*)_([a-z0-9][a-z0-9-]*)-([0-9a-f]{64})\.log$/;
const CONTAINER_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Listings are read again at most this often when a cgroup names a pod not yet seen. */
const RELIST_MS = 5000;

/**
 * Pod namespaces, names and container names, read from the kubelet's log directories on the host:
 * `/var/log/pods/<namespace>_<pod>_<uid>/<container>/` and, where mounted,
 * `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`. The cgroup path gives only the pod's UID
 * and the container's id; these directories are what a DaemonSet can mount read-only to get the rest.
 */
export class PodLogNames {
  private pods = new Map<string, { namespace: string; pod: string; containers: string[] }>();
  private containers = new Map<string, string>();
  private listedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly host: HostPaths,
    private readonly now: () => number = Date.now,
  ) {}

  /** The names of a pod's container; undefined when the log directories do not know the pod. */
  lookup(podUid: string, containerId?: string): PodNames | undefined {
    if (!this.pods.has(podUid) && this.now() - this.listedAt >= RELIST_MS) this.relist();
    const pod = this.pods.get(podUid);
    if (!pod) return undefined;
    const byId = containerId ? this.containers.get(containerId) : undefined;
    const only = pod.containers.length === 1 ? (pod.containers[0] ?? null) : null;
    return { namespace: pod.namespace, pod: pod.pod, container: byId ?? (containerId ? only : null) };
  }

  private relist(): void {
    this.listedAt = this.now();
    const pods = new Map<string, { namespace: string; pod: string; containers: string[] }>();
    const podsDir = resolveHostPath(this.host, '/var/log/pods');
    for (const entry of list(podsDir)) {
      const match = POD_DIR.exec(entry);
      if (!match) continue;
      const containers = list(`${podsDir}/${entry}`).filter((name) => CONTAINER_NAME.test(name));
      pods.set(match[3] as string, { namespace: match[1] as string, pod: match[2] as string, containers });
    }
    const containers = new Map<string, string>();
    for (const entry of list(resolveHostPath(this.host, '/var/log/containers'))) {
      const match = CONTAINER_LOG.exec(entry);
      if (match) containers.set(match[4] as string, match[3] as string);
    }
    this.pods = pods;
    this.containers = containers;
  }
}

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
