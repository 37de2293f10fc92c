import fs from 'node:fs';
import path from 'node:path';

/**
 * Places, best first, where the executable may keep the files it extracts: the per-user runtime
 * directory, then $HEADROOM_HOME, then the user's cache. None is a shared, guessable path such as /tmp:
 * the Python preload found there is code the job runs.
 */
export function privateBases(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const bases: string[] = [];
  if (env.XDG_RUNTIME_DIR) bases.push(path.join(env.XDG_RUNTIME_DIR, 'headroom'));
  if (env.HEADROOM_HOME) bases.push(path.resolve(cwd, env.HEADROOM_HOME, 'runtime'));
  const cache = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : '');
  if (cache) bases.push(path.join(cache, 'headroom'));
  return bases;
}

/**
 * `dir` made (0700) or found as a real directory of this user that nobody else may write into; the
 * reason it cannot be used otherwise. A directory made by someone else, or a symlink planted in its place,
 * is refused rather than repaired.
 */
export function ensurePrivateDir(dir: string): { ok: true } | { ok: false; reason: string } {
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') return { ok: false, reason: `cannot create it (${code ?? String(error)})` };
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    return { ok: false, reason: `cannot read it (${(error as NodeJS.ErrnoException).code})` };
  }
  if (!stat.isDirectory()) return { ok: false, reason: 'it is not a directory' };
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return { ok: false, reason: `it belongs to uid ${stat.uid}` };
  if ((stat.mode & 0o077) !== 0)
    return { ok: false, reason: `others may use it (mode ${(stat.mode & 0o777).toString(8)})` };
  return { ok: true };
}
