// Bundles the CLI into CommonJS scripts (npm run build: dist/headroom.cjs and dist/headroom-run.cjs;
// build-exe.mjs: the executable's, with every dependency inside) and the Node profiler's preload
// (dist/node-preload.cjs).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

/**
 * esbuild turns each `import fs from 'node:fs'` of an ES module into `__toESM(require('node:fs'), 1)`,
 * which copies every property of the module, as a getter, into a new object: once per importing module,
 * some sixty copies (about 13 ms here) before `run` could start, and still a hundred KiB of young objects
 * when made once per module. In node mode (every import of this bundle's ES modules) the view only needs
 * `default` to be the module and every other name to read the module's own, which an object with the
 * module as its prototype gives at once: nothing is copied. One view serves every importer of a module
 * (some seventy imports of four built-in modules in run's bundle, 25 KiB of young objects made once
 * each). (A namespace import's keys would then be
 * `default` alone; headroom has no namespace imports of CommonJS modules.) The helper's text is
 * esbuild's; the build fails if it ever changes shape.
 */
const TO_ESM = '__toESM=(mod,isNodeMode,target)=>(target=mod!=null?';
const TO_ESM_VIEW =
  '__esmViews=new Map,' +
  '__toESM=(mod,isNodeMode,target)=>isNodeMode&&mod!=null?' +
  '(target=__esmViews.get(mod))??(__esmViews.set(mod,target=__create(mod,{default:{value:mod,enumerable:!0}})),target):' +
  '__toESMCopy(mod,isNodeMode),' +
  '__toESMCopy=(mod,isNodeMode,target)=>(target=mod!=null?';

/**
 * The CLI's bundles, by the file name bin/headroom.cjs picks them by: every command, and `run` alone
 * (src/cli/main-run.ts), which a short job starts sooner from.
 */
export const CLI_BUNDLES = { 'headroom.cjs': 'main.js', 'headroom-run.cjs': 'main-run.js' };

/**
 * Packages the CLI needs only for some commands and options (a config file, attach): they stay
 * require()s in the CLI's bundles, of node_modules for the npm build and of the executable's vendor
 * bundle (bundleVendor) for the executable, so that `run` without a config reads none of them.
 */
export const VENDORED = ['zod', 'smol-toml', 'ws'];

/**
 * Each bundle is one function expression, the wrapper Node adds around a CommonJS module: the loader
 * (bin/headroom.cjs) compiles the file's text as it is, without a copy of it to add the wrapper.
 */
function wrapped(text) {
  return `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
}

/** One CLI bundle: `external` packages stay require()s, resolved by the loader's require. */
/** What every bundle is: CommonJS for the Node 20 that headroom supports, whitespace and syntax minified. */
export const NODE_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

export async function bundleCli({ entry, outfile, external = [] }) {
  const result = await esbuild.build({
    ...NODE_BUNDLE,
    entryPoints: [path.join(dist, 'cli', entry)],
    external,
    write: false,
    outfile,
  });
  const text = result.outputFiles[0].text;
  if (text.split(TO_ESM).length !== 2) throw new Error(`bundle: esbuild's __toESM is not ${TO_ESM}...`);
  fs.writeFileSync(outfile, wrapped(text.replace(TO_ESM, TO_ESM_VIEW)));
}

/**
 * The executable's VENDORED packages in one script whose exports are getters, one a package: each is
 * set up when the CLI first requires it, not when the script loads.
 */
export async function bundleVendor({ outfile }) {
  const result = await esbuild.build({
    stdin: {
      contents: VENDORED.map(
        (name) =>
          `Object.defineProperty(exports, ${JSON.stringify(name)}, { get: () => require(${JSON.stringify(name)}) });`,
      ).join('\n'),
      resolveDir: root,
      sourcefile: 'vendor.cjs',
    },
    ...NODE_BUNDLE,
    write: false,
    outfile,
  });
  fs.writeFileSync(outfile, wrapped(result.outputFiles[0].text));
}

export async function bundlePreload() {
  await esbuild.build({
    entryPoints: [path.join(dist, 'profile', 'node-preload.js')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    outfile: path.join(dist, 'node-preload.cjs'),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // zod, smol-toml and ws load from node_modules when a config or attach needs them: headroom's own
  // memory counts against the job's limit, and a smaller script is about 1 MiB less of it.
  for (const [name, entry] of Object.entries(CLI_BUNDLES))
    await bundleCli({ entry, outfile: path.join(dist, name), external: VENDORED });
  await bundlePreload();
}
