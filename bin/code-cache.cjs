// Runs headroom's bundled CLI through V8's code cache. Node 20 compiles a script from scratch at every
// start (module.enableCompileCache is Node 22), and for a short job that compiling is a large part of
// what headroom adds to it. The cache is written after a command's first run, so it holds the functions
// that command compiled lazily too, one file per command, in a directory of the user's own (0700) and
// never in a shared place such as /tmp: what is in it runs as headroom.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

/** The per-user cache directory, made 0700; null when there is none or it is not private. */
function cacheDir(env) {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : '');
  if (!base) return null;
  const dir = path.join(base, 'headroom', 'code-cache');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    const uid = process.getuid ? process.getuid() : stat.uid;
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/**
 * Compiles and runs `source` (a CommonJS bundle) as a module, with the cache for `command` when there
 * is a valid one, and returns its exports plus `save()`, which writes the cache when it was missing or
 * V8 rejected it (another Node version, other flags, another bundle).
 */
function loadWithCache({ source, filename, command, requireFn, env = process.env }) {
  const dir = env.HEADROOM_NO_CODE_CACHE ? null : cacheDir(env);
  const key = crypto
    .createHash('sha256')
    .update(process.version)
    .update(process.arch)
    .update(source)
    .digest('hex')
    .slice(0, 16);
  const file = dir && path.join(dir, `${/^[a-z]+$/.test(command) ? command : 'other'}-${key}.bin`);
  let cachedData;
  if (file) {
    try {
      cachedData = fs.readFileSync(file);
    } catch {
      cachedData = undefined;
    }
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireFn, module, filename, path.dirname(filename));
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  return {
    exports: module.exports,
    save() {
      if (!file || !stale) return;
      try {
        const temporary = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData(), { flag: 'wx', mode: 0o600 });
        fs.renameSync(temporary, file);
      } catch {
        // A cache is an optimisation: a full disk or a race with another headroom costs nothing else.
      }
    },
  };
}

module.exports = { loadWithCache };
