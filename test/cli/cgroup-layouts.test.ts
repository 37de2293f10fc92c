/**
 * The ways a container sees its memory cgroup, made for real on this cgroup v1 machine: a child cgroup
 * with a limit below the test's own, a shell moved into it, and `unshare` (util-linux) for the cgroup
 * and mount namespaces, so the mounts made never leave that shell. headroom has to name the child's limit
 * and call an OOM kill there an OOM kill, whichever way the hierarchy is mounted.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createChildCgroup,
  locateMemoryCgroup,
  type MemoryCgroup,
  removeCgroup,
} from '../../src/kernel/index.js';
import { type CliResult, cliPath, finish, MiB, useScratchDir } from '../helpers/run-cli.js';

const located = locateMemoryCgroup('self');
const self: MemoryCgroup | undefined = located.ok ? located.cgroup : undefined;
const hasUnshare = spawnSync('unshare', ['--version'], { stdio: 'ignore' }).status === 0;
const runnable =
  self?.version === 1 && !self.readOnly && !self.ancestorsHidden && process.getuid?.() === 0 && hasUnshare;

const LIMIT = 300 * MiB;
const MOUNT = '/sys/fs/cgroup/memory';

interface Layout {
  name: string;
  unshare: string[];
  /** Shell run inside the namespaces before headroom: $CG is the child cgroup's directory, $BIND a spare directory. */
  setup: string;
  /** What /proc and the mount make of the child: the path headroom reports, and whether ancestors are hidden. */
  path: (cgroupPath: string) => string;
  ancestorsHidden: boolean;
}

const layouts: Layout[] = [
  {
    // Docker's v1 default: the container's own mount namespace holds only its subtree of the hierarchy.
    name: 'the container cgroup alone mounted (root = its path, no cgroup namespace)',
    unshare: ['-m', '--propagation', 'private'],
    setup: `mount --bind "$CG" "$BIND" && umount ${MOUNT} && mount --move "$BIND" ${MOUNT}`,
    path: (cgroupPath) => cgroupPath,
    ancestorsHidden: true,
  },
  {
    name: 'a private cgroup namespace with a fresh cgroupfs mount (root /)',
    unshare: ['-C', '-m', '--propagation', 'private'],
    setup: `umount ${MOUNT} && mount -t cgroup -o memory cgroup ${MOUNT}`,
    path: () => '/',
    ancestorsHidden: true,
  },
  {
    // A privileged container, or -v /sys/fs/cgroup:/sys/fs/cgroup, under a private cgroupns.
    name: "a private cgroup namespace keeping the host's cgroupfs (root /../../..)",
    unshare: ['-C'],
    setup: 'true',
    path: (cgroupPath) => cgroupPath,
    ancestorsHidden: false,
  },
  {
    name: "the container cgroup bind-mounted over the host's hierarchy (two mounts, the last one seen)",
    unshare: ['-m', '--propagation', 'private'],
    setup: `mount --bind "$CG" ${MOUNT}`,
    path: (cgroupPath) => cgroupPath,
    ancestorsHidden: true,
  },
];

const scratch = useScratchDir();
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) {
    if (!removeCgroup(dir)) throw new Error(`test cgroup ${dir} could not be removed`);
  }
});

let counter = 0;
function limitedChild(): MemoryCgroup {
  if (!self) throw new Error('no memory cgroup');
  const created = createChildCgroup(self, `layout-test-${process.pid}-${counter++}`, { memory: LIMIT });
  if (!created.ok) throw new Error(created.reason);
  made.push(created.cgroup.dir);
  return created.cgroup;
}

/** headroom with `args`, from a shell moved into `cgroup` and then into the layout's namespaces. */
function headroomIn(cgroup: MemoryCgroup, layout: Layout, args: string[]): Promise<CliResult> {
  const bind = path.join(scratch.dir, 'bind');
  fs.mkdirSync(bind, { recursive: true });
  const script = `echo $$ > "$CG/cgroup.procs" && exec unshare ${layout.unshare.join(' ')} sh -c '${layout.setup} && exec "$NODE" "$CLI" "$@"' sh "$@"`;
  const child = spawn('sh', ['-c', script, 'sh', ...args], {
    cwd: scratch.dir,
    env: {
      ...process.env,
      HEADROOM_HOME: path.join(scratch.dir, 'captures'),
      CG: cgroup.dir,
      BIND: bind,
      NODE: process.execPath,
      CLI: cliPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finish(child);
}

describe.runIf(runnable)('headroom in the cgroup layouts containers see (real cgroup v1, unshare)', () => {
  for (const layout of layouts) {
    describe(layout.name, () => {
      it('limits names the limit of the cgroup headroom is in', async () => {
        const cgroup = limitedChild();
        const json = await headroomIn(cgroup, layout, ['limits', '--json']);
        expect(json.stderr).toBe('');
        expect(json.status).toBe(0);
        const report = JSON.parse(json.stdout);
        expect(report.cgroup).toMatchObject({
          version: 1,
          path: layout.path(cgroup.path),
          ancestorsHidden: layout.ancestorsHidden,
        });
        expect(report.limit.bytes).toBe(LIMIT);
        expect(report.limit.source).toEqual({
          version: 1,
          path: layout.path(cgroup.path),
          depth: 0,
          file: 'memory.limit_in_bytes',
        });
        const text = await headroomIn(cgroup, layout, ['limits']);
        expect(text.stdout).toMatch(/^memory limit 300 MiB\n/);
      });

      it('run --observe reports a job killed at that limit as an OOM kill', async () => {
        const cgroup = limitedChild();
        const result = await headroomIn(cgroup, layout, [
          'run',
          '--observe',
          '--',
          'dd',
          'if=/dev/zero',
          'of=/dev/null',
          'bs=512M',
          'count=1',
        ]);
        const output = result.stdout + result.stderr;
        expect(output).toMatch(/dd .*killed by the OOM killer \(signal 9\)/);
        expect(output).not.toMatch(/not by the OOM killer/);
      });
    });
  }
});
