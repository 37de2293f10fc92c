import { describe, expect, it } from 'vitest';
import { nameCgroup } from '../../src/analyze/cgroup-name.js';

const id = '3f2a1b9c0d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd';
const uid = '1f2e3d4c-5b6a-4789-8abc-def012345678';

describe('nameCgroup', () => {
  it('names docker containers under both cgroup drivers', () => {
    expect(nameCgroup(`/docker/${id}`)).toEqual({
      kind: 'docker',
      name: 'docker 3f2a1b9c0d4e',
      containerId: id,
    });
    expect(nameCgroup(`/system.slice/docker-${id}.scope`)).toMatchObject({ kind: 'docker', containerId: id });
  });

  it('names Kubernetes pods and their containers under both drivers', () => {
    expect(nameCgroup(`/kubepods/burstable/pod${uid}/${id}`)).toEqual({
      kind: 'kubernetes',
      name: 'pod 1f2e3d4c container 3f2a1b9c0d4e',
      podUid: uid,
      containerId: id,
    });
    const systemd = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;
    expect(nameCgroup(systemd)).toMatchObject({ kind: 'kubernetes', podUid: uid, containerId: id });
    expect(nameCgroup(`/kubepods/pod${uid}`)).toEqual({
      kind: 'kubernetes',
      name: 'pod 1f2e3d4c',
      podUid: uid,
    });
  });

  it('names systemd units, headroom jobs by component, and anything else by its path', () => {
    expect(nameCgroup('/system.slice/nginx.service')).toEqual({ kind: 'systemd', name: 'nginx.service' });
    expect(nameCgroup('/x/headroom-4242-mwtbspob-dag_processor')).toEqual({
      kind: 'headroom',
      name: 'headroom dag_processor',
      component: 'dag_processor',
    });
    expect(nameCgroup('/x/headroom-4242-mwtbspob')).toEqual({
      kind: 'headroom',
      name: 'headroom job of 4242',
    });
    expect(nameCgroup('/a "b"\n<script>')).toEqual({ kind: 'cgroup', name: '/a "b"\n<script>' });
  });
});
