// Builds the single executable (dist/headroom-linux-<arch>): this Node binary with the whole CLI, the
// preloads and uPlot as assets and a loader as its main script, by Node's single executable applications
// and postject. Run after `npm run build` (npm run build:exe does both). It makes an
// executable for the machine it runs on; build on an arm64 machine for linux-arm64.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import esbuild from 'esbuild';
import { bundleCli, bundleVendor, CLI_BUNDLES, NODE_BUNDLE, VENDORED } from './bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const work = path.join(dist, 'exe');
const names = await import(path.join(dist, 'bundled', 'asset-names.js'));
const output = path.join(dist, `headroom-${process.platform}-${process.arch}`);
const VENDOR_BUNDLE = 'headroom-vendor.cjs';

if (process.platform !== 'linux') fail('the executable is built for Linux only (cgroups are Linux)');
if (!fs.existsSync(path.join(dist, 'cli', 'main.js'))) fail('run npm run build first');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });

// The CLI's bundles, the same as the npm build's, and the packages they require in a vendor bundle,
// carried as assets: an executable can require Node's built-in modules only. Its main script is
// bin/headroom.cjs's loader, which picks a bundle for the command and compiles it, and the vendor
// bundle once a package is required, through V8's code cache kept per user, as the npm bin does (SEA's
// own useCodeCache holds only the functions compiled eagerly).
const bundles = {};
for (const [name, entry] of Object.entries(CLI_BUNDLES)) {
  bundles[name] = path.join(work, name);
  await bundleCli({ entry, outfile: bundles[name], external: VENDORED });
}
bundles[VENDOR_BUNDLE] = path.join(work, VENDOR_BUNDLE);
await bundleVendor({ outfile: bundles[VENDOR_BUNDLE] });
const main = path.join(work, 'main.cjs');
await esbuild.build({
  ...NODE_BUNDLE,
  stdin: {
    contents: [
      "const path = require('node:path');",
      "const { getAsset } = require('node:sea');",
      "const { runCli } = require('./bin/headroom.cjs');",
      'runCli({',
      '  read: (bundle) => ({',
      "    source: getAsset(bundle, 'utf8'),",
      '    filename: path.join(path.dirname(process.execPath), bundle),',
      '    stampFile: process.execPath,',
      '  }),',
      "  flavor: 'exe',",
      '  requireFn: require,',
      `  vendor: { bundle: ${JSON.stringify(VENDOR_BUNDLE)}, packages: ${JSON.stringify(VENDORED)} },`,
      '});',
    ].join('\n'),
    resolveDir: root,
    sourcefile: 'headroom-exe.js',
  },
  outfile: main,
});

// The preloads, named as bundled/bundled-files.ts reads them, with an index and a hash of them all.
const preloads = { [names.NODE_PRELOAD_ASSET]: path.join(dist, 'node-preload.cjs') };
const pythonDir = path.join(root, 'preload', 'python');
for (const file of fs.readdirSync(pythonDir).sort()) {
  if (file.endsWith('.py')) preloads[`${names.PYTHON_PRELOAD_DIR}/${file}`] = path.join(pythonDir, file);
}
const hash = crypto.createHash('sha256');
for (const [name, file] of Object.entries(preloads)) {
  hash.update(name).update('\0').update(fs.readFileSync(file)).update('\0');
}
const index = path.join(work, 'preloads.json');
fs.writeFileSync(index, JSON.stringify({ names: Object.keys(preloads), hash: hash.digest('hex') }));
const uplot = Object.fromEntries(
  names.UPLOT_FILES.map((name) => [name, path.join(root, 'node_modules', 'uplot', 'dist', name)]),
);

const config = path.join(work, 'sea-config.json');
const blob = path.join(work, 'sea-prep.blob');
fs.writeFileSync(
  config,
  JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    assets: { ...bundles, [names.PRELOAD_INDEX_ASSET]: index, ...preloads, ...uplot },
  }),
);
const prepared = spawnSync(process.execPath, ['--experimental-sea-config', config], { encoding: 'utf8' });
if (prepared.status !== 0)
  fail(`node --experimental-sea-config failed:\n${prepared.stdout}${prepared.stderr}`);

fs.rmSync(output, { force: true });
fs.copyFileSync(process.execPath, output);
fs.chmodSync(output, 0o755);
// Debug symbols are most of a distribution's node binary beyond the official one; strip is optional.
try {
  execFileSync('strip', [output], { stdio: 'ignore' });
} catch {
  console.warn('build-exe: strip is not available; the executable keeps its symbols');
}
// postject's own CLI, in a child whose output is shown only on failure: LIEF warns once per ELF note of
// a distribution's node binary, hundreds of lines that mean nothing here.
const postject = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
    output,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { encoding: 'utf8' },
);
if (postject.status !== 0) fail(`postject failed:\n${postject.stdout}${postject.stderr}`);

const size = fs.statSync(output).size;
const gzipped = zlib.gzipSync(fs.readFileSync(output), { level: 6 }).length;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
console.log(`${path.relative(root, output)}: ${mib(size)}, ${mib(gzipped)} gzipped`);

function fail(message) {
  console.error(`build-exe: ${message}`);
  process.exit(1);
}
