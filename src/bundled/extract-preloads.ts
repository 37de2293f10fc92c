import fs from 'node:fs';
import path from 'node:path';
import { HeadroomError } from '../errors.js';
import type { PreloadIndex } from './asset-names.js';
import { ensurePrivateDir } from './private-dir.js';

/**
 * The preloads written out as real files, since Python finds its preload through PYTHONPATH and Node
 * through --require: into `<base>/preload-<hash>/` under the first usable base. Each file is compared
 * with the asset on every use and rewritten (to a temporary name, then renamed) when it differs, so a
 * file altered or cut short since is never what the job runs. Returns the directory.
 */
export function extractPreloads(
  index: PreloadIndex,
  read: (name: string) => Uint8Array,
  bases: readonly string[],
): string {
  const refused: string[] = [];
  for (const base of bases) {
    const dir = path.join(base, `preload-${index.hash.slice(0, 16)}`);
    const usable = ensurePrivateDir(dir);
    if (!usable.ok) {
      refused.push(`${dir}: ${usable.reason}`);
      continue;
    }
    try {
      for (const name of index.names) writeIfDifferent(dir, name, read(name));
      return dir;
    } catch (error) {
      refused.push(`${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  throw new HeadroomError(
    'E_PRELOAD_DIR',
    bases.length === 0
      ? 'no private directory to put the preload files in: set XDG_RUNTIME_DIR, HEADROOM_HOME or HOME'
      : `no private directory to put the preload files in (${refused.join('; ')}): set HEADROOM_HOME to a directory of your own`,
  );
}

function writeIfDifferent(dir: string, name: string, content: Uint8Array): void {
  const file = path.join(dir, name);
  if (sameContent(file, content)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  // wx: never through a file or symlink someone put there.
  fs.writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
  fs.renameSync(temporary, file);
}

function sameContent(file: string, content: Uint8Array): boolean {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile() || stat.size !== content.byteLength) return false;
    return fs.readFileSync(file).equals(content);
  } catch {
    return false;
  }
}
