import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/record/capture-reader.js';
import { capturesIn, runCli, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
const env = { NODE_OPTIONS: '', PYTHONPATH: '' };
/** Prints what the profilers would be handed. */
const showEnv = [
  'node',
  '-e',
  'const e = process.env; console.log(JSON.stringify([e.HEADROOM_PROFILE_DIR ?? null, e.NODE_OPTIONS ?? null, e.PYTHONPATH ?? null]))',
];

function writeConfig(text: string): void {
  fs.writeFileSync(path.join(scratch.dir, 'headroom.toml'), text);
}

describe('switching profiling on per component', () => {
  it('profiles a listed component into <component>_memory.jsonl and never overwrites an earlier one', async () => {
    writeConfig('[profiling]\ncomponents = ["scheduler", "dag_processor"]\n');
    const first = await runCli(['run', '--component', 'scheduler', '--', ...showEnv], {
      cwd: scratch.dir,
      env,
    });
    expect(first.status).toBe(0);
    const [dir, nodeOptions] = JSON.parse(first.stdout) as [string, string, string];
    expect(dir).toMatch(/headroom-profile-/);
    expect(nodeOptions).toMatch(/^--require \S+node-preload\.cjs$/);
    expect(first.stderr).toMatch(/profiling allocations/);
    const home = path.join(scratch.dir, 'captures');
    expect(fs.existsSync(path.join(home, 'scheduler_memory.jsonl'))).toBe(true);
    expect(readCapture(path.join(home, 'scheduler_memory.jsonl')).header.profiling).toEqual({
      python: 'growth',
    });
    // The spool directory is gone once the run ends.
    expect(fs.existsSync(dir)).toBe(false);

    const second = await runCli(['run', '--component', 'scheduler', '--', 'true'], { cwd: scratch.dir, env });
    expect(second.stderr).toMatch(/scheduler_memory\.jsonl exists .* goes to scheduler_memory-2\.jsonl/);
    expect(
      capturesIn(scratch.dir)
        .map((file) => path.basename(file))
        .sort(),
    ).toEqual(['scheduler_memory-2.jsonl', 'scheduler_memory.jsonl']);
  });

  it('leaves components not listed alone, unless --profile forces it', async () => {
    writeConfig('[profiling]\ncomponents = ["scheduler"]\n');
    const plain = await runCli(['run', '-q', '--component', 'worker', '--', ...showEnv], {
      cwd: scratch.dir,
      env,
    });
    expect(JSON.parse(plain.stdout)[0]).toBeNull();
    const [capture] = capturesIn(scratch.dir);
    expect(path.basename(capture ?? '')).toMatch(/^worker-/);
    expect(readCapture(capture ?? '').header.profiling).toBeUndefined();

    const forced = await runCli(
      ['run', '-q', '--profile', '--python-profiler', 'tracemalloc', '-o', 'f.jsonl', '--', ...showEnv],
      { cwd: scratch.dir, env },
    );
    expect(JSON.parse(forced.stdout)[0]).toMatch(/headroom-profile-/);
    expect(readCapture(path.join(scratch.dir, 'f.jsonl')).header.profiling).toEqual({
      python: 'tracemalloc',
    });
  });

  it('lets HEADROOM__PROFILING__COMPONENTS override the file; empty turns profiling off', async () => {
    writeConfig('[profiling]\ncomponents = ["scheduler"]\n');
    const off = await runCli(['run', '-q', '--component', 'scheduler', '--', ...showEnv], {
      cwd: scratch.dir,
      env: { ...env, HEADROOM__PROFILING__COMPONENTS: '' },
    });
    expect(JSON.parse(off.stdout)[0]).toBeNull();
    const on = await runCli(['run', '-q', '--component', 'worker', '--', ...showEnv], {
      cwd: scratch.dir,
      env: { ...env, HEADROOM__PROFILING__COMPONENTS: 'scheduler,worker' },
    });
    expect(JSON.parse(on.stdout)[0]).toMatch(/headroom-profile-/);
  });

  it("keeps the user's NODE_OPTIONS and PYTHONPATH beside the preloads", async () => {
    const result = await runCli(['run', '-q', '--profile', '--', ...showEnv], {
      cwd: scratch.dir,
      env: { NODE_OPTIONS: '--max-old-space-size=300', PYTHONPATH: '/opt/mine' },
    });
    const [, nodeOptions, pythonPath] = JSON.parse(result.stdout) as [string, string, string];
    expect(nodeOptions).toMatch(/^--require \S+node-preload\.cjs --max-old-space-size=300$/);
    expect(pythonPath.split(':')).toEqual([expect.stringMatching(/preload\/python$/), '/opt/mine']);
  });

  it('answers a wrong config file with its line and exit 125, before running anything', async () => {
    writeConfig('[profiling]\ncomponents = "scheduler"\n');
    const result = await runCli(['run', '--component', 'scheduler', '--', 'touch', 'ran'], {
      cwd: scratch.dir,
      env,
    });
    expect(result.status).toBe(125);
    expect(result.stderr.trim()).toBe(
      `headroom: ${path.join(scratch.dir, 'headroom.toml')}:2: profiling.components: expected array [E_CONFIG]`,
    );
    expect(fs.existsSync(path.join(scratch.dir, 'ran'))).toBe(false);
    const bad = await runCli(['run', '--python-profiler', 'memray', '--', 'true'], { cwd: scratch.dir, env });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/--python-profiler: unknown mode "memray"/);
  });
});
