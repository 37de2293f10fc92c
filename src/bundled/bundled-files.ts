import fs from 'node:fs';
import path from 'node:path';
import type * as nodeSea from 'node:sea';
import { moduleDir, packageRoot } from '../package-root.js';
import {
  NODE_PRELOAD_ASSET,
  PRELOAD_INDEX_ASSET,
  type PreloadIndex,
  PYTHON_PRELOAD_DIR,
  type UplotFile,
} from './asset-names.js';
import { extractPreloads } from './extract-preloads.js';
import { privateBases } from './private-dir.js';

/**
 * The files headroom ships beside its code (the preloads, uPlot): from the package directory when it was
 * installed by npm, from the assets of the single executable when it is one.
 */

/**
 * node:sea when this process is the single executable, else null. Loaded when asked, as node:module is
 * below (for uPlot, which only a report needs; it brings Node's ES module loader with it): a run whose
 * job has no limit needs neither, and `run` loads node:sea before its V8 flags change
 * (cli/optimizing-compilers.ts).
 */
function executable(): typeof nodeSea | null {
  const sea = process.getBuiltinModule('node:sea');
  return sea.isSea() ? sea : null;
}

export interface PreloadPaths {
  /** For --require in NODE_OPTIONS. */
  nodePreload: string;
  /** The directory holding sitecustomize.py, for PYTHONPATH. */
  pythonDir: string;
}

let preloads: PreloadPaths | undefined;

/** Where the preloads are, extracted first when this is the executable (once per process). */
export function preloadPaths(): PreloadPaths {
  if (preloads) return preloads;
  const sea = executable();
  if (!sea) {
    const root = packageRoot();
    preloads = {
      nodePreload: path.join(root, 'dist', 'node-preload.cjs'),
      pythonDir: path.join(root, 'preload', 'python'),
    };
    return preloads;
  }
  const index = JSON.parse(sea.getAsset(PRELOAD_INDEX_ASSET, 'utf8')) as PreloadIndex;
  const dir = extractPreloads(
    index,
    (name) => new Uint8Array(sea.getAsset(name)),
    privateBases(process.env, process.cwd()),
  );
  preloads = {
    nodePreload: path.join(dir, NODE_PRELOAD_ASSET),
    pythonDir: path.join(dir, PYTHON_PRELOAD_DIR),
  };
  return preloads;
}

/** One of uPlot's files, as text. */
export function uplotText(name: UplotFile): string {
  const sea = executable();
  if (sea) return sea.getAsset(name, 'utf8');
  const require = process
    .getBuiltinModule('node:module')
    .createRequire(path.join(moduleDir(), 'bundled-files.js'));
  return fs.readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
}
