import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli, scratchDir } from '../helpers/run-cli.js';

/**
 * What `headroom run` compiles outside V8's code cache, as the npm bin runs it. Its bundle
 * (dist/headroom-run.cjs) carries commander and everything else run needs, and is compiled through the
 * cache; a package that run required from node_modules instead (a vendored one made eager, a package
 * left out of the bundle) would be resolved, read and compiled from scratch at every short job's start.
 */
const PROBE = `
process.once('exit', () => {
  require('node:fs').writeFileSync(process.env.HEADROOM_TEST_PROBE_OUT, JSON.stringify(Object.keys(require.cache)));
});
`;

let scratch: ReturnType<typeof scratchDir>;
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());

describe('the npm bin, headroom run', () => {
  it('compiles only its bin script outside the cache, nothing from node_modules or dist/*.js', async () => {
    const probe = path.join(scratch.dir, 'probe.cjs');
    fs.writeFileSync(probe, PROBE);
    const out = path.join(scratch.dir, 'modules.json');
    const cacheDir = path.join(scratch.dir, 'cache', 'headroom', 'code-cache');
    const env = {
      NODE_OPTIONS: `--require ${probe}`,
      HEADROOM_TEST_PROBE_OUT: out,
      XDG_CACHE_HOME: path.join(scratch.dir, 'cache'),
    };
    const runCache = () => fs.readdirSync(cacheDir).filter((name) => name.startsWith('npm-run-'));

    // The first run compiles the bundle and writes its cache; the second must start from that cache.
    for (const round of ['first', 'second']) {
      const result = await runCli(['run', '--quiet', '--', 'true'], { cwd: scratch.dir, env });
      expect(result.status, `${round} run: ${result.stderr}`).toBe(0);
      const loaded = (JSON.parse(fs.readFileSync(out, 'utf8')) as string[]).filter((file) => file !== probe);
      expect(loaded, `${round} run`).toEqual([path.join(repoRoot, 'bin', 'headroom.cjs')]);
    }
    const [cache] = runCache();
    expect(runCache()).toHaveLength(1);
    const written = fs.statSync(path.join(cacheDir, cache ?? '')).mtimeMs;

    // V8 accepted it: a cache it rejects is written again (bin/headroom.cjs).
    const third = await runCli(['run', '--quiet', '--', 'true'], { cwd: scratch.dir, env });
    expect(third.status, third.stderr).toBe(0);
    expect(runCache()).toEqual([cache]);
    expect(fs.statSync(path.join(cacheDir, cache ?? '')).mtimeMs).toBe(written);
  });

  it('writes no cache that V8 would refuse after a job long enough to turn the optimizing compilers off and on', async () => {
    const cacheDir = path.join(scratch.dir, 'cache', 'headroom', 'code-cache');
    const env = { XDG_CACHE_HOME: path.join(scratch.dir, 'cache') };
    const runCache = () =>
      fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((name) => name.startsWith('npm-run-')) : [];
    // Longer than LEAN_AFTER_MS (cli/run.ts): V8's flags change during the job and change back after it,
    // not always to the same hash (Node 22).
    const long = await runCli(['run', '--quiet', '--', 'sleep', '0.2'], { cwd: scratch.dir, env });
    expect(long.status, long.stderr).toBe(0);
    const written = runCache();
    for (const name of written) fs.utimesSync(path.join(cacheDir, name), 1, 1);
    const short = await runCli(['run', '--quiet', '--', 'true'], { cwd: scratch.dir, env });
    expect(short.status, short.stderr).toBe(0);
    // One the long job wrote is accepted here, not written again; without one, this run writes it.
    for (const name of written) expect(fs.statSync(path.join(cacheDir, name)).mtimeMs, name).toBe(1000);
    expect(runCache()).toHaveLength(1);
  });
});
