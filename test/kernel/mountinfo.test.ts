import { describe, expect, it } from 'vitest';
import { parseMountinfo, parseProcCgroup } from '../../src/kernel/index.js';
import { headroomError } from '../helpers/errors.js';

describe('parseMountinfo', () => {
  it('reads root, mount point, options, type and super options, with and without optional fields', () => {
    const text = [
      '22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
      '30 26 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
      '1290 1289 0:26 /kubepods/pod1 /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw',
      '38 31 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 master:3 - cgroup cgroup rw,memory',
      '',
    ].join('\n');
    const mounts = parseMountinfo(text, 'mountinfo');
    expect(mounts).toEqual([
      {
        majorMinor: '253:1',
        root: '/',
        mountPoint: '/',
        readOnly: false,
        fsType: 'ext4',
        superOptions: ['rw', 'errors=remount-ro'],
      },
      {
        majorMinor: '0:26',
        root: '/',
        mountPoint: '/sys/fs/cgroup',
        readOnly: false,
        fsType: 'cgroup2',
        superOptions: ['rw', 'nsdelegate', 'memory_recursiveprot'],
      },
      {
        majorMinor: '0:26',
        root: '/kubepods/pod1',
        mountPoint: '/sys/fs/cgroup',
        readOnly: true,
        fsType: 'cgroup2',
        superOptions: ['rw'],
      },
      {
        majorMinor: '0:34',
        root: '/',
        mountPoint: '/sys/fs/cgroup/memory',
        readOnly: false,
        fsType: 'cgroup',
        superOptions: ['rw', 'memory'],
      },
    ]);
  });

  it('unescapes \\040 (space), \\011 (tab) and \\134 (backslash) in paths', () => {
    const text =
      '40 22 0:40 /my\\040dir /mnt/with\\040space\\011tab\\134slash rw,relatime shared:20 - tmpfs tmpfs rw\n';
    const [mount] = parseMountinfo(text, 'mountinfo');
    expect(mount?.root).toBe('/my dir');
    expect(mount?.mountPoint).toBe('/mnt/with space\ttab\\slash');
  });

  it('does not mistake "ro" in super options or a substring like "rootcontext" for a read-only mount', () => {
    const text = '50 22 0:50 / /data rw,relatime,rootcontext=x - ext4 /dev/vdb ro\n';
    expect(parseMountinfo(text, 'mountinfo')[0]?.readOnly).toBe(false);
  });

  it('rejects truncated lines with an error naming the file', () => {
    expect(() => parseMountinfo('22 1 253:1 / / rw\n', '/proc/self/mountinfo')).toThrow(
      headroomError('E_KERNEL_FILE'),
    );
    expect(() => parseMountinfo('22 1 253:1 / / rw\n', '/proc/self/mountinfo')).toThrow(
      /^\/proc\/self\/mountinfo: malformed line/,
    );
    // A separator but nothing after the source: no super options field.
    expect(() =>
      parseMountinfo('22 1 253:1 / / rw,relatime shared:1 master:2 - ext4 /dev/vda1\n', 'mountinfo'),
    ).toThrow(headroomError('E_KERNEL_FILE'));
  });
});

describe('parseProcCgroup', () => {
  it('reads a v2-only file', () => {
    expect(parseProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n', 'cgroup')).toEqual([
      { hierarchyId: 0, controllers: [], path: '/user.slice/user-1000.slice/session-2.scope' },
    ]);
  });

  it('reads a hybrid file: named hierarchies, combined controllers, and the 0:: line', () => {
    const text =
      '12:pids:/a\n9:memory:/docker/abc\n4:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/init.scope\n';
    expect(parseProcCgroup(text, 'cgroup')).toEqual([
      { hierarchyId: 12, controllers: ['pids'], path: '/a' },
      { hierarchyId: 9, controllers: ['memory'], path: '/docker/abc' },
      { hierarchyId: 4, controllers: ['cpu', 'cpuacct'], path: '/' },
      { hierarchyId: 1, controllers: ['name=systemd'], path: '/init.scope' },
      { hierarchyId: 0, controllers: [], path: '/init.scope' },
    ]);
  });

  it('keeps colons that belong to the path', () => {
    expect(parseProcCgroup('0::/system.slice/a:b.service\n', 'cgroup')[0]?.path).toBe(
      '/system.slice/a:b.service',
    );
  });

  it('rejects malformed lines with an error naming the file', () => {
    expect(() => parseProcCgroup('garbage\n', '/proc/self/cgroup')).toThrow(
      /^\/proc\/self\/cgroup: malformed line "garbage"/,
    );
    expect(() => parseProcCgroup('x:memory:/\n', '/proc/self/cgroup')).toThrow(
      headroomError('E_KERNEL_FILE'),
    );
  });
});
