/**
 * How the single executable names the files it carries besides its own code. The build
 * (scripts/build-exe.mjs) and the code that reads them both take these names.
 */

/** JSON: the names of the preload assets and a hash of their content, written by the build. */
export const PRELOAD_INDEX_ASSET = 'preloads.json';

/** The Node preload; every file of preload/python/ is carried as `python/<name>`. */
export const NODE_PRELOAD_ASSET = 'node-preload.cjs';
export const PYTHON_PRELOAD_DIR = 'python';

/** uPlot's script and stylesheet, inlined into every HTML report (the npm package's file names). */
export const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'] as const;
export type UplotFile = (typeof UPLOT_FILES)[number];

export interface PreloadIndex {
  /** Asset names, the Node preload and python/*. */
  names: string[];
  /** sha256 of the names and contents, hex: names the directory they are extracted to. */
  hash: string;
}
