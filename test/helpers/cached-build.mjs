// What the two Debian roots the tests build have in common (the cgroup v2 VM's in test/vm, the
// executable's chroot in test/exe): the tools they need, a build logged to a file, and a cache keyed by
// the files that make the build, filled under a temporary name so an interrupted build is never reused.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function findTool(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Each tool's path; throws one error naming every missing tool and its Debian package (`packages`, as
 * .ci/run installs them), for `purpose` ("the cgroup v2 VM"): a test must fail, not skip.
 */
export function requireTools(names, { packages, purpose }) {
  const missing = names.filter((name) => !findTool(name));
  if (missing.length > 0) {
    const install = [...new Set(missing.map((name) => packages[name] ?? name))];
    throw new Error(`${purpose} needs ${missing.join(', ')}: apt-get install ${install.join(' ')}`);
  }
  return Object.fromEntries(names.map((name) => [name, findTool(name)]));
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command with its output appended to `logFile`; rejects with the log's tail unless it exits 0. */
export function runLogged(command, args, logFile, options = {}) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', out, out], ...options });
    child.on('error', (error) => {
      fs.closeSync(out);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
        reject(
          new Error(`${command} ${args.join(' ')} failed (${signal ?? code}); see ${logFile}:\n${tail}`),
        );
      }
    });
  });
}

/** A short hash of the named files under `dir`, names included: the build is redone exactly when one changes. */
export function filesKey(dir, files) {
  const hash = createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(dir, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * `<cache>/rootfs-<key>`, built first by `bash script DIR` when `isBuilt(dir)` says it is not there
 * (`what` and `expect`, how long that takes, are for the log line). The
 * build goes to a temporary name that is renamed into place; builds left by dead processes and the
 * builds of older keys (each hundreds of MiB, never used again) are removed.
 */
export async function ensureCachedBuild({ cache, key, script, isBuilt, what, expect, log = () => {} }) {
  const dir = path.join(cache, `rootfs-${key}`);
  if (isBuilt(dir)) return { dir, key, built: false, ms: 0 };
  fs.mkdirSync(cache, { recursive: true });
  for (const entry of fs.readdirSync(cache)) {
    const match = /^\.build-[0-9a-f]+-(\d+)$/.exec(entry);
    if (match && !isAlive(Number(match[1])))
      fs.rmSync(path.join(cache, entry), { recursive: true, force: true });
  }
  const tmp = path.join(cache, `.build-${key}-${process.pid}`);
  const logFile = path.join(cache, `build-${key}.log`);
  fs.writeFileSync(logFile, '');
  log(`building ${what} ${key} in ${cache} (debootstrap, ${expect}; log: ${logFile})`);
  const start = Date.now();
  try {
    await runLogged('bash', [script, tmp], logFile);
    try {
      fs.renameSync(tmp, dir);
    } catch (error) {
      // Another run finished the same build first: use theirs.
      if (!isBuilt(dir)) throw error;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  for (const entry of fs.readdirSync(cache)) {
    if (/^rootfs-[0-9a-f]+$/.test(entry) && entry !== `rootfs-${key}`) {
      fs.rmSync(path.join(cache, entry), { recursive: true, force: true });
      fs.rmSync(path.join(cache, `build-${entry.slice(7)}.log`), { force: true });
    }
  }
  return { dir, key, built: true, ms: Date.now() - start };
}
