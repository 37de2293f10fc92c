import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This module's directory: __dirname in the CommonJS bundle (dist/headroom.cjs), import.meta.url in the
 * ES module build. The try keeps esbuild from warning that import.meta is empty in CommonJS.
 */
export function moduleDir(): string {
  if (typeof __dirname === 'string') return __dirname;
  try {
    return path.dirname(fileURLToPath(import.meta.url));
  } catch {
    return process.cwd();
  }
}

let root: string | undefined;

/** The name on the npm registry ("headroom" there belongs to someone else); the command stays headroom. */
export const PACKAGE_NAME = 'headroom-cli';

/**
 * The installed package's top directory (where package.json and the preload/ files are), found by walking
 * up from this module: the bundle and the library build sit at different depths below it.
 */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = moduleDir(); ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
      };
      if (manifest.name === PACKAGE_NAME) {
        root = dir;
        return dir;
      }
    } catch {
      // No package.json here, or not ours: keep climbing.
    }
    if (path.dirname(dir) === dir) throw new Error('cannot find the headroom package directory');
  }
}
