/** What runs in a cgroup, read from its path the way container engines and systemd name them. */
export interface CgroupName {
  kind: 'docker' | 'kubernetes' | 'systemd' | 'headroom' | 'cgroup';
  /** Short and readable: "docker 3f2a1b9c0d4e", "pod 1f2e…/c 9a8b…", "nginx.service", "headroom scheduler". */
  name: string;
  /** headroom jobs: the --component they were started with. */
  component?: string;
  /** Container id (docker, Kubernetes), full length. */
  containerId?: string;
  /** Kubernetes pod UID. */
  podUid?: string;
}

const CONTAINER = /(?:^|\/)(?:docker|cri-containerd|crio|containerd)[-/]([0-9a-f]{64})(?:\.scope)?$/;
// cgroupfs driver: /kubepods/burstable/pod<uid>/<id>; systemd driver: kubepods-burstable-pod<uid_with_underscores>.slice
const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;
const HEADROOM = /(?:^|\/)headroom-(\d+)-[0-9a-z]+(?:-([a-z0-9_.]+))?$/;

/** Names a cgroup from its path; anything unknown is named by its path. */
export function nameCgroup(cgroupPath: string): CgroupName {
  const headroom = HEADROOM.exec(cgroupPath);
  if (headroom) {
    const component = headroom[2];
    return component
      ? { kind: 'headroom', name: `headroom ${component}`, component }
      : { kind: 'headroom', name: `headroom job of ${headroom[1]}` };
  }
  const pod = POD.exec(cgroupPath);
  const last = cgroupPath.split('/').pop() ?? '';
  if (pod) {
    const podUid = (pod[1] as string).replace(/_/g, '-');
    const container = /([0-9a-f]{64})(?:\.scope)?$/.exec(last)?.[1];
    return container
      ? {
          kind: 'kubernetes',
          name: `pod ${podUid.slice(0, 8)} container ${container.slice(0, 12)}`,
          podUid,
          containerId: container,
        }
      : { kind: 'kubernetes', name: `pod ${podUid.slice(0, 8)}`, podUid };
  }
  const container = CONTAINER.exec(cgroupPath)?.[1];
  if (container) return { kind: 'docker', name: `docker ${container.slice(0, 12)}`, containerId: container };
  if (/\.(service|scope|slice|socket)$/.test(last)) return { kind: 'systemd', name: last };
  return { kind: 'cgroup', name: cgroupPath };
}
