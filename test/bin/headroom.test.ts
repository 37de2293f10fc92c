import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { bundleFor, loadWithCache } = require('../../bin/headroom.cjs') as {
  bundleFor: (command: string) => string;
  loadWithCache: (options: {
    source?: string;
    sourceFile?: string;
    filename: string;
    stamp?: string;
    flavor: string;
    command: string;
    requireFn: NodeJS.Require;
    env?: NodeJS.ProcessEnv;
  }) => { exports: { answer: () => number }; save: (known: boolean) => void };
};

/** A bundle as scripts/bundle.mjs writes one: a CommonJS module in Node's wrapper. */
const wrap = (text: string) => `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
const source = wrap(
  'exports.answer = function answer() { return [1, 2, 3].reduce((a, b) => a + b, 0) * 7; };',
);

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-code-cache-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const load = (command: string, env: NodeJS.ProcessEnv = { HOME: home }) =>
  loadWithCache({
    source,
    filename: path.join(home, 'bundle.cjs'),
    stamp: '1-2',
    flavor: 'npm',
    command,
    requireFn: require,
    env,
  });
const cacheFiles = () => fs.readdirSync(path.join(home, '.cache', 'headroom', 'code-cache'));

describe('bundleFor', () => {
  it('runs run from its own bundle and every other command line from the whole CLI', () => {
    expect(bundleFor('run')).toBe('headroom-run.cjs');
    for (const command of ['summary', 'report', '--help', '', 'runs'])
      expect(bundleFor(command)).toBe('headroom.cjs');
  });
});

describe('runCli', () => {
  it("serves the vendor bundle's packages to the CLI's require, loaded on the first such require and cached", () => {
    // As the executable runs it: bundles from memory, and one package that only the vendor bundle has.
    const script = `
      const { runCli } = require(${JSON.stringify(path.resolve('bin/headroom.cjs'))});
      const sources = {
        'headroom-run.cjs': ${JSON.stringify(wrap("exports.isCommand = (w) => w === 'run'; exports.main = async () => require('leftpad').pad(String(require('node:path').sep)) === '_/' ? 3 : 1;"))},
        'headroom-vendor.cjs': ${JSON.stringify(wrap("Object.defineProperty(exports, 'leftpad', { get: () => ({ pad: (text) => '_' + text }) });"))},
      };
      runCli({
        read: (bundle) => ({ source: sources[bundle], filename: bundle, stampFile: ${JSON.stringify(path.resolve('package.json'))} }),
        flavor: 'exe',
        requireFn: require,
        vendor: { bundle: 'headroom-vendor.cjs', packages: ['leftpad'] },
      });`;
    const result = spawnSync(process.execPath, ['-e', script, 'headroom', 'run'], {
      env: { HOME: home },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(3);
    expect(cacheFiles().sort()).toEqual([
      expect.stringMatching(/^exe-run-/),
      expect.stringMatching(/^exe-vendor-/),
    ]);
  });
});

describe('loadWithCache', () => {
  it('runs the bundle, writes one cache per command in a 0700 directory, and leaves a valid one alone', () => {
    const first = load('run');
    expect(first.exports.answer()).toBe(42);
    first.save(true);
    expect(cacheFiles()).toEqual([expect.stringMatching(/^npm-run-v\d+\.\d+\.\d+-\w+-1-2\.bin$/)]);
    const dir = path.join(home, '.cache', 'headroom', 'code-cache');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const written = fs.statSync(path.join(dir, cacheFiles()[0]!)).mtimeMs;

    const second = load('run');
    expect(second.exports.answer()).toBe(42);
    second.save(true);
    expect(fs.statSync(path.join(dir, cacheFiles()[0]!)).mtimeMs).toBe(written);

    // A word that is no command gets no cache of its own; --help and the like share "other".
    load('frobnicate').save(false);
    load('--help').save(false);
    expect(cacheFiles().sort()).toEqual([
      expect.stringMatching(/^npm-other-/),
      expect.stringMatching(/^npm-run-/),
    ]);

    // A new build of the bundle replaces its command's cache.
    loadWithCache({
      source,
      filename: 'b.cjs',
      stamp: '3-4',
      flavor: 'npm',
      command: 'run',
      requireFn: require,
      env: { HOME: home },
    }).save(true);
    expect(cacheFiles().filter((name) => name.startsWith('npm-run-'))).toEqual([
      expect.stringMatching(/-3-4\.bin$/),
    ]);
  });

  it('replaces a cache V8 rejects, and still runs', () => {
    // In a fresh process: within one, V8 answers a second compile of the same source from memory.
    const script = `
      const { loadWithCache } = require(${JSON.stringify(path.resolve('bin/headroom.cjs'))});
      const loaded = loadWithCache({ source: ${JSON.stringify(source)}, filename: 'b.cjs', stamp: '1-2', flavor: 'npm', command: 'run',
        requireFn: require, env: { HOME: ${JSON.stringify(home)} } });
      loaded.save(true);
      process.stdout.write(String(loaded.exports.answer()));`;
    const fresh = () => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(fresh().stdout).toBe('42');
    const file = path.join(home, '.cache', 'headroom', 'code-cache', cacheFiles()[0]!);
    fs.writeFileSync(file, Buffer.alloc(64, 7));
    expect(fresh().stdout).toBe('42');
    expect(fs.statSync(file).size).toBeGreaterThan(64);
  });

  it("reads a bundle from its file, its cache named after the file's size and mtime and accepted by the next start", () => {
    // The cache here is larger than the bundle, the other way round from headroom's: both are read
    // through one buffer, and the source must not be cut to the cache's length or the reverse.
    const file = path.join(home, 'bundle.cjs');
    fs.writeFileSync(file, source);
    const script = `
      const { loadWithCache } = require(${JSON.stringify(path.resolve('bin/headroom.cjs'))});
      const loaded = loadWithCache({ sourceFile: ${JSON.stringify(file)}, filename: ${JSON.stringify(file)}, flavor: 'npm',
        command: 'run', requireFn: require, env: { HOME: ${JSON.stringify(home)} } });
      loaded.save(true);
      process.stdout.write(String(loaded.exports.answer()));`;
    const fresh = () => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(fresh()).toMatchObject({ stdout: '42', stderr: '', status: 0 });
    const { size, mtimeMs } = fs.statSync(file);
    expect(cacheFiles()).toEqual([
      `npm-run-${process.version}-${process.arch}-${size}-${Math.floor(mtimeMs)}.bin`,
    ]);
    const cache = path.join(home, '.cache', 'headroom', 'code-cache', cacheFiles()[0]!);
    expect(fs.statSync(cache).size).toBeGreaterThan(source.length);
    // Accepted: a stale or missing cache would be written again.
    fs.utimesSync(cache, 1, 1);
    expect(fresh().stdout).toBe('42');
    expect(fs.statSync(cache).mtimeMs).toBe(1000);
    // One V8 rejects is replaced, and the bundle still runs.
    fs.writeFileSync(cache, Buffer.alloc(64, 7));
    expect(fresh().stdout).toBe('42');
    expect(fs.statSync(cache).size).toBeGreaterThan(64);
  });

  it('uses no cache in a directory others may write into, nor without a home', () => {
    fs.mkdirSync(path.join(home, '.cache', 'headroom', 'code-cache'), { recursive: true });
    fs.chmodSync(path.join(home, '.cache', 'headroom', 'code-cache'), 0o777);
    const loaded = load('run');
    expect(loaded.exports.answer()).toBe(42);
    loaded.save(true);
    expect(cacheFiles()).toEqual([]);
    const homeless = load('run', {});
    expect(homeless.exports.answer()).toBe(42);
    homeless.save(true);
  });
});
