// Host side of the single executable's acceptance: the cached Debian rootfs without Node, a writable
// sandbox of it per run, and commands run chrooted into it, in a memory cgroup of the test's own.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureCachedBuild,
  filesKey,
  isAlive,
  requireTools as requireToolsFor,
} from '../helpers/cached-build.mjs';

export const EXE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(EXE_DIR, '..', '..');
export const EXE_PATH = path.join(REPO_ROOT, 'dist', 'headroom-linux-x64');

/** PATH inside the chroot: Debian's default for root, /usr/local/bin first as in the images. */
export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where this host mounts the cgroup v1 memory hierarchy. */
export const MEMORY_MOUNT = '/sys/fs/cgroup/memory';

export function cacheDir() {
  return process.env.HEADROOM_CHROOT_CACHE || '/var/cache/headroom-chroot';
}

// The rootfs is rebuilt exactly when the script that builds it changes.
export function rootfsKey() {
  return filesKey(EXE_DIR, ['build-chroot.sh']);
}

// Debian package names, so that the error says what to install (as .ci/run does).
const TOOLS = { debootstrap: 'debootstrap', unshare: 'util-linux', chroot: 'coreutils' };

/** Throws one error naming every missing tool and its package: the test must fail, not skip. */
export function requireTools(names) {
  return requireToolsFor(names, { packages: TOOLS, purpose: 'the chroot acceptance' });
}

/**
 * The cached rootfs for the current build script (its root is `root` inside the returned dir), built first
 * when missing. Built under a temporary name and renamed into place, so that an interrupted build is never
 * taken for a finished one; builds left by dead processes and builds of older scripts are removed.
 */
export async function ensureRootfs({ log = () => {} } = {}) {
  const cache = cacheDir();
  const isBuilt = (dir) => fs.existsSync(path.join(dir, 'root', 'usr', 'bin', 'python3'));
  const key = rootfsKey();
  if (!isBuilt(path.join(cache, `rootfs-${key}`))) requireTools(['debootstrap', 'chroot']);
  return ensureCachedBuild({
    cache,
    key,
    script: path.join(EXE_DIR, 'build-chroot.sh'),
    isBuilt,
    what: 'the rootfs',
    expect: 'a minute or two',
    log,
  });
}

/**
 * The test process's own memory cgroup directory on a cgroup v1 host. Only v1: on v2 a child cgroup with
 * the memory controller needs a parent without processes, and the test's own cgroup holds the test; the
 * v2 acceptance is test/vm's, booted on a kernel of its own.
 */
export function ownMemoryCgroup() {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'latin1')
    .split('\n')
    .find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l));
  if (!line || !fs.existsSync(path.join(MEMORY_MOUNT, 'memory.limit_in_bytes'))) {
    throw new Error(
      `the chroot acceptance needs the cgroup v1 memory controller at ${MEMORY_MOUNT}; on cgroup v2 hosts run test/vm`,
    );
  }
  return path.join(MEMORY_MOUNT, line.slice(line.lastIndexOf(':') + 1));
}

function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (
    fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      // mountinfo escapes spaces and the like as octal; our paths have none.
      .filter((point) => point === dir || point.startsWith(prefix))
  );
}

/** Every pid in a cgroup and its descendants. */
function pidsIn(dir) {
  const pids = [];
  const walk = (d) => {
    try {
      for (const pid of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
        pids.push(Number(pid));
      for (const entry of fs.readdirSync(d, { withFileTypes: true }))
        if (entry.isDirectory()) walk(path.join(d, entry.name));
    } catch {
      // removed while walking
    }
  };
  walk(dir);
  return pids;
}

/** Child cgroup directories below `dir`, deepest first, as paths relative to it. */
export function childCgroups(dir) {
  const found = [];
  const walk = (d) => {
    let entries = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      walk(path.join(d, entry.name));
      found.push(path.relative(dir, path.join(d, entry.name)));
    }
  };
  walk(dir);
  return found;
}

/** headroom's job cgroups (headroom-<pid>-<id>[-component]) anywhere below `dir`. */
export function headroomCgroups(dir) {
  return childCgroups(dir).filter((child) => path.basename(child).startsWith('headroom-'));
}

/** A cgroup below the sandbox's with a memory limit, as `docker run --memory` gives a container. */
export function limitedCgroup(sandbox, name, bytes) {
  const dir = path.join(sandbox.cgroup, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
  return dir;
}

/** Polls `check` (which may be async) until it holds or `deadlineMs` passes; whether it held. */
export async function until(deadlineMs, check) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function umount(args) {
  return spawnSync('umount', args, { encoding: 'utf8' });
}

/**
 * A writable root for one run: an overlay on the cached rootfs where overlayfs mounts (a copy otherwise),
 * and a memory cgroup below the test's own that every command of the run goes into, so that headroom's
 * job cgroups can only be made below it and anything left running can be found and ended.
 */
export function makeSandbox({ rootfsDir, log = () => {} }) {
  const tmp = process.env.TMPDIR || os.tmpdir();
  removeStaleSandboxes(tmp, log);
  const workDir = fs.mkdtempSync(path.join(tmp, `hrexe-${process.pid}-`));
  const root = path.join(workDir, 'root');
  const upper = path.join(workDir, 'upper');
  fs.mkdirSync(root);
  fs.mkdirSync(upper);
  fs.mkdirSync(path.join(workDir, 'work'));
  const lower = path.join(rootfsDir, 'root');
  const mounted = spawnSync(
    'mount',
    [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${upper},workdir=${path.join(workDir, 'work')}`,
      root,
    ],
    { encoding: 'utf8' },
  );
  let mode = 'overlay';
  if (mounted.status !== 0) {
    // Inside some containers overlayfs will not stack: a copy costs a few seconds and 200 MiB instead.
    mode = 'copy';
    log(`overlayfs did not mount (${mounted.stderr.trim()}); copying the rootfs`);
    fs.rmdirSync(root);
    const copied = spawnSync('cp', ['-a', lower, root], { encoding: 'utf8' });
    if (copied.status !== 0) throw new Error(`cp -a ${lower} ${root} failed: ${copied.stderr}`);
  }
  const cgroup = path.join(ownMemoryCgroup(), path.basename(workDir));
  fs.mkdirSync(cgroup);
  return {
    workDir,
    root,
    // What the runs wrote: the overlay's upper layer, or the whole copy.
    written: mode === 'overlay' ? upper : root,
    mode,
    cgroup,
    cleanup: () => cleanupSandbox({ workDir, root, mode, cgroup }),
  };
}

/**
 * Sandboxes of test processes that died before their cleanup (killed by a CI timeout, say): their overlay
 * is still mounted and their cgroup still there. What is still busy is left alone.
 */
function removeStaleSandboxes(tmp, log) {
  const stale = (name) => {
    const match = /^hrexe-(\d+)-/.exec(name);
    return match !== null && !isAlive(Number(match[1]));
  };
  for (const name of fs.readdirSync(tmp).filter(stale)) {
    const workDir = path.join(tmp, name);
    umount([path.join(workDir, 'root')]);
    if (mountsUnder(workDir).length === 0) fs.rmSync(workDir, { recursive: true, force: true });
    log(`removed the stale sandbox ${workDir}`);
  }
  for (const dir of childCgroups(MEMORY_MOUNT).filter((dir) => stale(path.basename(dir)))) {
    for (const child of childCgroups(path.join(MEMORY_MOUNT, dir))) {
      try {
        fs.rmdirSync(path.join(MEMORY_MOUNT, dir, child));
      } catch {
        // still has processes
      }
    }
    try {
      fs.rmdirSync(path.join(MEMORY_MOUNT, dir));
    } catch {
      // still has processes
    }
  }
}

/**
 * Ends whatever the runs left in the sandbox's cgroup, removes the cgroup, unmounts the overlay and
 * removes the sandbox. Returns what was wrong (a process left running, a cgroup or a mount left behind);
 * it still cleans up all it can, so a failed run leaves nothing mounted.
 */
async function cleanupSandbox({ workDir, root, mode, cgroup }) {
  const problems = [];
  const stray = pidsIn(cgroup);
  if (stray.length > 0) {
    problems.push(`processes left in the sandbox's cgroup: ${stray.join(' ')}`);
    // Only processes that a run of this sandbox started are in its cgroup.
    for (const pid of stray) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await until(5000, () => pidsIn(cgroup).length === 0);
  }
  // headroom removes a job's cgroup a poll or two after the job's exit.
  await until(3000, () => headroomCgroups(cgroup).length === 0);
  for (const child of headroomCgroups(cgroup)) problems.push(`headroom's cgroup left: ${child}`);
  // Deepest first, so each is empty when it is removed; the test's own (limitedCgroup) go silently.
  for (const child of childCgroups(cgroup)) {
    try {
      fs.rmdirSync(path.join(cgroup, child));
    } catch (error) {
      problems.push(`cannot remove the cgroup ${child}: ${error.code}`);
    }
  }
  try {
    fs.rmdirSync(cgroup);
  } catch (error) {
    if (error.code !== 'ENOENT') problems.push(`cannot remove the sandbox's cgroup: ${error.code}`);
  }
  if (mode === 'overlay') {
    let result = umount([root]);
    if (result.status !== 0) {
      problems.push(`umount ${root}: ${result.stderr.trim()}`);
      // Last resort: detach it now, the kernel frees it when its last user goes.
      result = umount(['-l', root]);
      if (result.status !== 0) problems.push(`umount -l ${root}: ${result.stderr.trim()}`);
    }
  }
  const left = mountsUnder(workDir);
  if (left.length > 0) {
    problems.push(`still mounted: ${left.join(' ')}`);
    umount(['-R', '-l', workDir]);
  }
  // Never delete through a mount point: if anything is still mounted below, the sandbox stays.
  if (mountsUnder(workDir).length === 0) fs.rmSync(workDir, { recursive: true, force: true });
  else problems.push(`${workDir} kept: mounts below it could not be detached`);
  return problems;
}

// Runs as the chrooted command's parent, in a mount namespace of its own (unshare): /proc, /sys (with the
// cgroup hierarchies mounted below it) and /dev are bound into the root there, so they vanish with the
// namespace when the command ends, whatever happens to the test, and unmounting them can never
// propagate back to the host's own /sys/fs/cgroup mounts (which a shared rbind would). It joins the
// cgroup it is given, then becomes the command: chroot, env and headroom each exec, so the pid the test
// holds is headroom's. HREXE_READ_ONLY=1 makes the root read-only, as Kubernetes'
// readOnlyRootFilesystem; HREXE_BINDS is "SOURCE:TARGET:ro|rw ...", as a pod's hostPath volumes.
const ENTER = `set -eu
root=$1 procs=$2
shift 2
if [ "\${HREXE_READ_ONLY:-}" = 1 ]; then
  mount --bind "$root" "$root"
  mount -o remount,bind,ro "$root"
fi
for fs in proc sys dev; do mount --rbind "/$fs" "$root/$fs"; done
for bind in \${HREXE_BINDS:-}; do
  source=\${bind%%:*} rest=\${bind#*:}
  target=$root\${rest%:*}
  mount --rbind "$source" "$target"
  [ "\${rest##*:}" = ro ] || continue
  # Every mount below too (the cgroup hierarchies below /sys/fs/cgroup): a bind's ro is its own alone.
  for point in $(awk -v t="$target" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo); do
    mount -o remount,bind,ro "$point"
  done
done
echo $$ >"$procs"
exec "$@"`;

/**
 * Starts `args` chrooted into the sandbox with an environment of `env` alone (plus PATH, HOME and LANG),
 * in `cwd` inside it. At the deadline the command is killed; `timedOut` says so.
 */
export function startInChroot(
  sandbox,
  args,
  { env = {}, cwd = '/', timeoutMs = 60_000, cgroup = sandbox.cgroup, readOnly = false, binds = [] } = {},
) {
  const pairs = Object.entries({ PATH: CHROOT_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env }).map(
    ([key, value]) => `${key}=${value}`,
  );
  for (const bind of binds) {
    // A target must exist to be mounted on; on a read-only root it must already be there.
    fs.mkdirSync(path.join(sandbox.root, bind.target), { recursive: true });
  }
  const command = ['chroot', sandbox.root, '/usr/bin/env', '-i', '-C', cwd, ...pairs, ...args];
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      ENTER,
      'enter',
      sandbox.root,
      path.join(cgroup, 'cgroup.procs'),
      ...command,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HREXE_READ_ONLY: readOnly ? '1' : '',
        HREXE_BINDS: binds.map((b) => `${b.source}:${b.target}:${b.readOnly ? 'ro' : 'rw'}`).join(' '),
      },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const start = Date.now();
  const done = new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(deadline);
      resolve({ status, signal, stdout, stderr, pid: child.pid, timedOut, ms: Date.now() - start });
    });
  });
  return {
    pid: child.pid,
    output: () => ({ stdout, stderr }),
    kill: (signal = 'SIGTERM') => child.kill(signal),
    done,
  };
}

/** startInChroot, waited for. */
export function runInChroot(sandbox, args, options = {}) {
  return startInChroot(sandbox, args, options).done;
}
