import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { effectiveLimit, locateMemoryCgroup, type MemoryCgroup } from '../../src/kernel/index.js';
import { FIXTURE_PID, type FixtureHost, MiB, v1Tree, v2Tree } from '../fixtures/cgroup-tree.js';
import { headroomError } from '../helpers/errors.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

function located(f: FixtureHost): MemoryCgroup {
  const result = locateMemoryCgroup('self', f.host);
  if (!result.ok) throw new Error(`expected a cgroup, got ${result.code}: ${result.message}`);
  return result.cgroup;
}

describe('locateMemoryCgroup on cgroup v2', () => {
  it('maps the process path through the mount point', () => {
    fixture = v2Tree({ '/user.slice/app.service': {} }, { self: '/user.slice/app.service' });
    expect(located(fixture)).toEqual({
      version: 2,
      path: '/user.slice/app.service',
      dir: path.join(fixture.root, 'sys/fs/cgroup/user.slice/app.service'),
      mountDir: path.join(fixture.root, 'sys/fs/cgroup'),
      readOnly: false,
      ancestorsHidden: false,
    });
  });

  it('reports a read-only mount', () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1', readOnly: true });
    expect(located(fixture).readOnly).toBe(true);
  });

  it('inside a cgroup namespace ("0::/", mount root "/", a top with memory.max) says ancestors are hidden', () => {
    fixture = v2Tree({ '/': { 'memory.max': 536_870_912 } }, { self: '/', namespaced: true, readOnly: true });
    const cgroup = located(fixture);
    expect(cgroup.path).toBe('/');
    expect(cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup'));
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.ancestorsHidden).toBe(true);
  });

  it('at the real root (no memory.max at the top) nothing is hidden', () => {
    fixture = v2Tree({}, { self: '/' });
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.ancestorsHidden).toBe(false);
  });

  it('resolves a bind mount of a subtree: mount root /kubepods/pod1, process in /kubepods/pod1/c1', () => {
    fixture = v2Tree(
      { '/c1': { 'memory.max': 268_435_456 } },
      { self: '/kubepods/pod1/c1', mountRoot: '/kubepods/pod1' },
    );
    const cgroup = located(fixture);
    expect(cgroup.path).toBe('/kubepods/pod1/c1');
    expect(cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup/c1'));
    expect(cgroup.mountDir).toBe(path.join(fixture.root, 'sys/fs/cgroup'));
    expect(cgroup.ancestorsHidden).toBe(true);
  });

  it('when the process is the bind-mounted subtree itself, its dir is the mount point', () => {
    fixture = v2Tree(
      { '/': { 'memory.max': 268_435_456 } },
      { self: '/kubepods/pod1', mountRoot: '/kubepods/pod1' },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup'));
    expect(cgroup.ancestorsHidden).toBe(true);
  });

  it('is ok:false E_NO_MEMORY_CONTROLLER when memory is not enabled for the cgroup and there is no v1 memory', () => {
    fixture = v2Tree({ '/app': { 'cgroup.controllers': 'cpu io pids' } }, { self: '/app' });
    const result = locateMemoryCgroup('self', fixture.host);
    expect(result).toMatchObject({ ok: false, code: 'E_NO_MEMORY_CONTROLLER' });
    if (!result.ok) expect(result.message).toMatch(/memory/);
  });

  it('reads another process by pid, through our own mounts (its paths are relative to our namespace)', () => {
    fixture = v2Tree({ '/a': {}, '/b': { 'cgroup.procs': '4242\n' } }, { self: '/a' });
    fixture.write('/proc/4242/cgroup', '0::/b\n');
    // The process's own mounts, from another mount namespace, name places we would not find.
    fixture.write('/proc/4242/mountinfo', '30 26 0:26 /b /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n');
    const result = locateMemoryCgroup(4242, fixture.host);
    expect(result.ok && result.cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup/b'));
  });

  it('does not take a cgroup for another process that its cgroup.procs does not list', () => {
    fixture = v2Tree({ '/a': {}, '/b': { 'cgroup.procs': '4243\n' } }, { self: '/a' });
    fixture.write('/proc/4242/cgroup', '0::/b\n');
    const result = locateMemoryCgroup(4242, fixture.host);
    expect(result).toMatchObject({ ok: false, code: 'E_CGROUP_NOT_FOUND' });
    if (!result.ok) {
      expect(result.message).toBe(
        `cannot find the memory cgroup of pid 4242: ${fixture.cgroupDir('/b')}/cgroup.procs of the cgroup2 mount at /sys/fs/cgroup (root /) does not list pid 4242`,
      );
    }
  });

  it('a missing /proc/PID/cgroup is an E_KERNEL_FILE error naming it', () => {
    const f = v2Tree({}, { self: '/' });
    fixture = f;
    expect(() => locateMemoryCgroup(999_999, f.host)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => locateMemoryCgroup(999_999, f.host)).toThrow(`${f.root}/proc/999999/cgroup: does not exist`);
  });
});

describe('locateMemoryCgroup on cgroup v1', () => {
  it('finds the memory hierarchy by its super options', () => {
    fixture = v1Tree({ '/docker/abc': {} }, { self: '/docker/abc' });
    expect(located(fixture)).toEqual({
      version: 1,
      path: '/docker/abc',
      dir: path.join(fixture.root, 'sys/fs/cgroup/memory/docker/abc'),
      mountDir: path.join(fixture.root, 'sys/fs/cgroup/memory'),
      readOnly: false,
      ancestorsHidden: false,
    });
  });

  it('on a hybrid host (v1 memory line and a 0:: line) chooses v1', () => {
    fixture = v1Tree({ '/user.slice': {} }, { self: '/user.slice', hybrid: true });
    const cgroup = located(fixture);
    expect(cgroup.version).toBe(1);
    expect(cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup/memory/user.slice'));
  });

  it('inside a v1 container (mount root = own cgroup) maps to the mount point and hides ancestors', () => {
    fixture = v1Tree(
      { '/': { 'memory.limit_in_bytes': 536_870_912 } },
      { self: '/docker/abc', mountRoot: '/docker/abc', readOnly: true },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup/memory'));
    expect(cgroup.readOnly).toBe(true);
    expect(cgroup.ancestorsHidden).toBe(true);
  });

  it('falls back to v2 when a v1 memory line has no mounted hierarchy', () => {
    fixture = v2Tree({ '/app': {} }, { self: '/app', extraCgroupLines: ['9:memory:/app'] });
    expect(located(fixture).version).toBe(2);
  });
});

/** A v1 memory hierarchy mounted at /sys/fs/cgroup/memory with root "/": the host's, as a later mount covers it. */
const HOST_V1_MOUNT =
  '34 31 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory';
const HOST_V2_MOUNT =
  '29 26 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate';

describe('locateMemoryCgroup where the mount and the cgroup namespace do not line up', () => {
  it('v2: the host cgroupfs seen from a private cgroupns ("0::/", root /../../..) is the namespace root', () => {
    fixture = v2Tree(
      {
        '/kubepods/pod1/c1': { 'memory.max': 300 * MiB },
        // Decoys at the same depth: the only thing that tells them apart is cgroup.procs.
        '/kubepods/pod2/c1': { 'memory.max': 100 * MiB, 'cgroup.procs': '77\n' },
        '/system.slice/docker.service/x': { 'cgroup.procs': '1\n' },
      },
      { self: '/', namespaceRoot: '/kubepods/pod1/c1' },
    );
    const cgroup = located(fixture);
    expect(cgroup).toEqual({
      version: 2,
      path: '/kubepods/pod1/c1',
      dir: fixture.cgroupDir('/kubepods/pod1/c1'),
      mountDir: path.join(fixture.root, 'sys/fs/cgroup'),
      readOnly: false,
      // The mount shows the whole hierarchy, up to the real root.
      ancestorsHidden: false,
    });
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(300 * MiB);
    expect(limit.source).toEqual({ version: 2, path: '/kubepods/pod1/c1', depth: 0, file: 'memory.max' });
    expect(limit.levels.map((level) => level.path)).toEqual([
      '/kubepods/pod1/c1',
      '/kubepods/pod1',
      '/kubepods',
      '/',
    ]);
  });

  it('v2: a process below the namespace root ("0::/app") is found inside it', () => {
    fixture = v2Tree(
      {
        '/kubepods/pod1': { 'memory.max': 200 * MiB },
        '/kubepods/pod2/app': { 'cgroup.procs': '77\n' },
      },
      { self: '/app', namespaceRoot: '/kubepods/pod1' },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(fixture.cgroupDir('/kubepods/pod1/app'));
    expect(cgroup.path).toBe('/kubepods/pod1/app');
    expect(effectiveLimit(cgroup).source).toEqual({
      version: 2,
      path: '/kubepods/pod1',
      depth: 1,
      file: 'memory.max',
    });
  });

  it('v2: when no cgroup at that depth lists the pid, says so rather than reading the top', () => {
    fixture = v2Tree(
      { '/kubepods/pod1/c1': { 'cgroup.procs': '77\n' } },
      { self: '/', namespaceRoot: '/kubepods/pod1/c1' },
    );
    const result = locateMemoryCgroup('self', fixture.host);
    expect(result).toEqual({
      ok: false,
      code: 'E_CGROUP_NOT_FOUND',
      message:
        `cannot find the memory cgroup of headroom (pid ${FIXTURE_PID}): no cgroup 3 levels below the top of ` +
        `the cgroup2 mount at /sys/fs/cgroup (root /../../..) holds / with pid ${FIXTURE_PID} in it`,
    });
  });

  it('v2: a mount whose root is beside the namespace root ("/../other") does not show the process', () => {
    fixture = v2Tree({ '/c1': {} }, { self: '/c1', mountRoot: '/../other' });
    const result = locateMemoryCgroup('self', fixture.host);
    expect(result).toMatchObject({ ok: false, code: 'E_CGROUP_NOT_FOUND' });
    if (!result.ok) expect(result.message).toMatch(/namespace root is outside the part of the hierarchy/);
  });

  it("v2: a bind mount of a pod's subtree over the host's cgroupfs is the one read (the last of the stack)", () => {
    fixture = v2Tree(
      { '/c1': { 'memory.max': 256 * MiB } },
      { self: '/kubepods/pod1/c1', mountRoot: '/kubepods/pod1', mountsBefore: [HOST_V2_MOUNT] },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(fixture.cgroupDir('/c1'));
    expect(cgroup.ancestorsHidden).toBe(true);
    expect(effectiveLimit(cgroup).bytes).toBe(256 * MiB);
  });

  it('v2: a cgroup2 mount covered by a later mount above it is not read', () => {
    fixture = v2Tree(
      { '/c1': {} },
      {
        self: '/c1',
        mountsAfter: ['40 26 0:40 / /sys/fs rw,relatime shared:20 - tmpfs tmpfs rw'],
      },
    );
    expect(locateMemoryCgroup('self', fixture.host)).toMatchObject({
      ok: false,
      code: 'E_NO_MEMORY_CONTROLLER',
    });
  });

  it('v2: a process whose mapped directory does not list it is not placed there', () => {
    fixture = v2Tree({ '/c1': { 'cgroup.procs': '1\n2\n' } }, { self: '/c1' });
    const result = locateMemoryCgroup('self', fixture.host);
    expect(result).toMatchObject({ ok: false, code: 'E_CGROUP_NOT_FOUND' });
    if (!result.ok)
      expect(result.message).toMatch(/c1\/cgroup.procs of the cgroup2 mount .* does not list pid/);
  });

  it('v1: the host hierarchy seen from a private cgroupns ("4:memory:/", root /../..) is the namespace root', () => {
    fixture = v1Tree(
      {
        '/docker/abc': { 'memory.limit_in_bytes': 300 * MiB },
        '/docker/def': { 'memory.limit_in_bytes': 100 * MiB, 'cgroup.procs': '77\n' },
      },
      { self: '/', namespaceRoot: '/docker/abc' },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(fixture.cgroupDir('/docker/abc'));
    expect(cgroup.path).toBe('/docker/abc');
    expect(cgroup.ancestorsHidden).toBe(false);
    const limit = effectiveLimit(cgroup);
    expect(limit.bytes).toBe(300 * MiB);
    expect(limit.ancestorsHidden).toBe(false);
  });

  it('v1: a fresh mount inside a private cgroupns (root "/", the top is the namespace root) hides ancestors', () => {
    fixture = v1Tree({ '/': { 'memory.limit_in_bytes': 300 * MiB } }, { self: '/', namespaced: true });
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.ancestorsHidden).toBe(true);
    expect(effectiveLimit(cgroup).bytes).toBe(300 * MiB);
  });

  it("v1: a bind mount of the container's cgroup over the host's hierarchy is the one read", () => {
    fixture = v1Tree(
      { '/': { 'memory.limit_in_bytes': 300 * MiB } },
      { self: '/docker/abc', mountRoot: '/docker/abc', mountsBefore: [HOST_V1_MOUNT] },
    );
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.path).toBe('/docker/abc');
    expect(cgroup.ancestorsHidden).toBe(true);
    expect(effectiveLimit(cgroup).bytes).toBe(300 * MiB);
  });

  it('v1: the real root of the hierarchy hides nothing', () => {
    fixture = v1Tree({}, { self: '/' });
    const cgroup = located(fixture);
    expect(cgroup.dir).toBe(cgroup.mountDir);
    expect(cgroup.ancestorsHidden).toBe(false);
  });
});
