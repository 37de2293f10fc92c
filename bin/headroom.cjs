#!/usr/bin/env node
// headroom's command line as npm installs it, and the loader the executable shares (scripts/build-exe.mjs
// bundles this file into its main script). The CLI is bundled into CommonJS files (one for `run`, one for
// everything): loading one script instead of some forty ES modules starts about 40 ms sooner and keeps a
// few MiB less of headroom's own memory in the user's container. The loader and the npm entry are one
// file because each file Node resolves, reads and compiles for a main script is about a millisecond of
// every start.
//
// Runs headroom's bundled CLI through V8's code cache. Node 20 compiles a script from scratch at every
// start (module.enableCompileCache is Node 22), and for a short job that compiling is a large part of
// what headroom adds to it. The cache is written after a command's first run, so it holds the functions
// that command compiled lazily too, one file per command, in a directory of the user's own (0700) and
// never in a shared place such as /tmp: what is in it runs as headroom.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

/** The per-user cache directory, made 0700; null when there is none or it is not private. */
function cacheDir(env) {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : '');
  if (!base) return null;
  const dir = path.join(base, 'headroom', 'code-cache');
  try {
    // Made once: at every later start one lstat answers, where mkdir -p was three calls.
    let stat = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!stat) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      stat = fs.lstatSync(dir);
    }
    const uid = process.getuid ? process.getuid() : stat.uid;
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/**
 * Compiles and runs `source` as a module, with the cache for `command` when there is a valid one, and
 * returns its exports plus `save(known)`, which writes the cache when it was missing or V8 rejected it,
 * for a command the CLI knows. `source` is a CommonJS bundle written as one function expression of
 * (exports, require, module, __filename, __dirname), the wrapper Node would add (scripts/bundle.mjs):
 * adding it here would copy the whole bundle at every start, as V8 flattens a concatenated string
 * before compiling it. It is given as text, or as `sourceFile` to read it from. `stamp` names this build
 * of the source (the size and mtime of the file it came from; taken from `sourceFile` when that is
 * given): a hash of half a MiB, and loading node:crypto for it, would cost more than the cache saves, and
 * V8 itself refuses a cache made for other source, flags or another V8. `flavor` says which build loads
 * it (npm, exe).
 */
function loadWithCache({
  source,
  sourceFile,
  filename,
  stamp,
  flavor,
  command,
  requireFn,
  env = process.env,
}) {
  const dir = env.HEADROOM_NO_CODE_CACHE ? null : cacheDir(env);
  const name = /^[a-z]{1,20}$/.test(command) ? command : 'other';
  // The npm bin and the executable keep theirs apart, or each would remove the other's as stale.
  const prefix = `${flavor}-${name}-`;
  const cacheFileFor = (stampText) =>
    dir && path.join(dir, `${prefix}${process.version}-${process.arch}-${stampText}.bin`);
  let file;
  let cachedData;
  if (sourceFile !== undefined) {
    ({ source, cachedData, file } = readSourceAndCache(sourceFile, cacheFileFor));
  } else {
    file = cacheFileFor(stamp);
    if (file) {
      try {
        cachedData = fs.readFileSync(file);
      } catch {
        cachedData = undefined;
      }
    }
  }
  const script = new vm.Script(source, { filename, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireFn, module, filename, path.dirname(filename));
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  const flagsAtStart = stale && file ? flagHash() : undefined;
  return {
    exports: module.exports,
    save(known) {
      if (!file || !stale || (!known && name !== 'other')) return;
      // V8 stamps a cache with a hash of its flags. `run` turns the optimizing compilers off during a job
      // and on again, and from V8 12 (Node 22) on that does not bring every flag back: a cache written
      // then would be refused at every later start, and written again at every end.
      if (flagHash() !== flagsAtStart) return;
      try {
        const temporary = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData(), { flag: 'wx', mode: 0o600 });
        fs.renameSync(temporary, file);
        // Caches of earlier builds of this command are never read again.
        for (const entry of fs.readdirSync(dir)) {
          if (entry.startsWith(prefix) && path.join(dir, entry) !== file)
            fs.rmSync(path.join(dir, entry), { force: true });
        }
      } catch {
        // A cache is an optimisation: a full disk or a race with another headroom costs nothing else.
      }
    },
  };
}

/**
 * The hash of V8's flags that V8 stamps on a code cache, read off the cache of a tiny script: the fourth
 * 32-bit word of the header (after magic number, version hash and source hash) in the V8s of Node 20, 22
 * and 24. Taken only when a cache is to be written (the first costs about a millisecond), at the start
 * and again before writing.
 */
function flagHash() {
  const probe = new vm.Script('0', { filename: 'headroom-flag-probe.js' }).createCachedData();
  return probe.length >= 16 ? probe.readUInt32LE(12) : -1;
}

/**
 * A bundle's text and its cache, read through one buffer: the text is copied into a string at once and
 * the cache is read over it. Each page a process touches first costs a page fault (about 15 us on the
 * virtual machines here), and a buffer of its own for each file was some 90 more of them at every start.
 */
function readSourceAndCache(sourceFile, cacheFileFor) {
  const fd = fs.openSync(sourceFile, 'r');
  let cacheFd = -1;
  try {
    const stat = fs.fstatSync(fd);
    const file = cacheFileFor(stampOf(stat));
    let cacheSize = 0;
    if (file) {
      try {
        cacheFd = fs.openSync(file, 'r');
        cacheSize = fs.fstatSync(cacheFd).size;
      } catch {
        // None yet: it is written after this run.
      }
    }
    const buffer = Buffer.allocUnsafeSlow(Math.max(stat.size, cacheSize));
    const source = buffer.toString('latin1', 0, readInto(fd, buffer, stat.size));
    let cachedData;
    if (cacheSize > 0) {
      try {
        cachedData = buffer.subarray(0, readInto(cacheFd, buffer, cacheSize));
      } catch {
        // Unreadable: compiled without it, and written again after this run.
      }
    }
    return { source, cachedData, file };
  } finally {
    fs.closeSync(fd);
    if (cacheFd >= 0) fs.closeSync(cacheFd);
  }
}

/** Reads up to `size` bytes of `fd` from its start into `buffer`; how many there were. */
function readInto(fd, buffer, size) {
  let done = 0;
  while (done < size) {
    const read = fs.readSync(fd, buffer, done, size - done, done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

function stampOf(stat) {
  return `${stat.size}-${Math.floor(stat.mtimeMs)}`;
}

/** The stamp of the file a bundle is read from: its size and modification time. */
function fileStamp(file) {
  return stampOf(fs.statSync(file));
}

/**
 * The bundle a command runs from (scripts/bundle.mjs): `run` has one of its own, a short job's start
 * being the one that matters, and every other command line runs from the whole CLI's.
 */
function bundleFor(command) {
  return command === 'run' ? 'headroom-run.cjs' : 'headroom.cjs';
}

/**
 * headroom's command line, for the npm bin and the executable alike: `read(bundle)` gives the bundle for
 * the command, as `source` text and the file it came from (`stampFile`) or as the `sourceFile` to read,
 * and its filename; loads it through
 * the cache, runs main on the arguments, writes the cache when it was missing or stale, and exits with
 * main's status. The executable has no node_modules: `vendor` names the bundle that serves the
 * `packages` the CLI requires, loaded through the cache too, on the first such require.
 */
function runCli({ read, flavor, requireFn, vendor }) {
  const argv = process.argv.slice(2);
  const command = argv[0] ?? '';
  const load = (name, cacheName, requireIt) => {
    const { source, sourceFile, filename, stampFile } = read(name);
    const stamp = sourceFile === undefined ? fileStamp(stampFile) : undefined;
    return loadWithCache({
      source,
      sourceFile,
      filename,
      stamp,
      flavor,
      command: cacheName,
      requireFn: requireIt,
    });
  };
  let vendored;
  const requireBundle =
    vendor === undefined
      ? requireFn
      : (id) => {
          if (!vendor.packages.includes(id)) return requireFn(id);
          vendored ??= load(vendor.bundle, 'vendor', requireFn);
          return vendored.exports[id];
        };
  const bundle = load(bundleFor(command), command, requireBundle);
  bundle.exports.main(argv).then((code) => {
    bundle.save(bundle.exports.isCommand(command));
    vendored?.save(true);
    // Once main has resolved the command is over, and on Linux stdout and stderr are written
    // synchronously (files, pipes and terminals alike): exiting here skips tearing down the heap, about
    // 7 ms of every run measured side by side, which a short job would otherwise wait for.
    process.exit(code);
  });
}

module.exports = { bundleFor, loadWithCache, runCli };

// The npm bin: the bundles are files beside this one. Required (by the executable's main script, by
// tests), this file only exports.
if (require.main === module) {
  runCli({
    read(bundle) {
      const filename = path.join(__dirname, '..', 'dist', bundle);
      return { sourceFile: filename, filename };
    },
    flavor: 'npm',
    requireFn: require,
  });
}
