import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelFileError, locateMemoryCgroup, type MemoryCgroup } from '../../src/kernel/index.js';
import { type FixtureHost, v1Tree, v2Tree } from '../fixtures/cgroup-tree.js';

let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

function located(f: FixtureHost): MemoryCgroup {
  const result = locateMemoryCgroup('self', f.host);
  if (!result.ok) throw new Error(`expected a cgroup, got ${result.reason}: ${result.message}`);
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

  it('is ok:false "no-memory-controller" when memory is not enabled for the cgroup and there is no v1 memory', () => {
    fixture = v2Tree({ '/app': { 'cgroup.controllers': 'cpu io pids' } }, { self: '/app' });
    const result = locateMemoryCgroup('self', fixture.host);
    expect(result).toMatchObject({ ok: false, reason: 'no-memory-controller' });
    if (!result.ok) expect(result.message).toMatch(/memory/);
  });

  it('reads another process by pid', () => {
    fixture = v2Tree({ '/a': {}, '/b': {} }, { self: '/a' });
    fixture.write('/proc/4242/cgroup', '0::/b\n');
    fixture.write('/proc/4242/mountinfo', '30 26 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n');
    const result = locateMemoryCgroup(4242, fixture.host);
    expect(result.ok && result.cgroup.dir).toBe(path.join(fixture.root, 'sys/fs/cgroup/b'));
  });

  it('a missing /proc/PID/cgroup is a KernelFileError naming it', () => {
    const f = v2Tree({}, { self: '/' });
    fixture = f;
    expect(() => locateMemoryCgroup(999_999, f.host)).toThrow(KernelFileError);
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
