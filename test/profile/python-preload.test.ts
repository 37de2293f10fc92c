import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
const preload = path.join(repoRoot, 'preload/python');
/** Every module of the growth profiler, loaded at the start of every Python process of a profiled job. */
const growthModules = [
  '_headroom_children',
  '_headroom_gc',
  '_headroom_profile',
  '_headroom_sampler',
  '_headroom_snapshots',
  '_headroom_spool',
];

function python(
  code: string,
  env: NodeJS.ProcessEnv,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('python3', ['-c', code], {
    cwd: scratch.dir,
    env: { ...process.env, NODE_OPTIONS: '', PYTHONTRACEMALLOC: '', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the Python preload', () => {
  it('loads the profiler from its own directory, importing nothing at startup beyond what it needs', () => {
    // Modules of the job's named like the profiler's, found first on sys.path, are not the profiler's.
    const site = path.join(scratch.dir, 'site');
    fs.mkdirSync(site);
    for (const name of [...growthModules, '_headroom_tracemalloc']) {
      fs.writeFileSync(path.join(site, `${name}.py`), 'raise SystemExit("the job\'s own module")\n');
    }
    const spool = path.join(scratch.dir, 'spool');
    fs.mkdirSync(spool);
    // json only once the modules are listed.
    const list =
      'names = sorted(sys.modules)\n' +
      'files = {n: m.__file__ for n, m in sys.modules.items() if n.startswith("_headroom_")}\n' +
      'own = sorted(getattr(sys.modules.get("_headroom_sampler"), "_OWN_FILES", ()))\n' +
      'import json; print(json.dumps({"names": names, "files": files, "own": own}))';
    // A Python process without profiling, once it holds the few modules the profiler starts with.
    const plain = python(`import atexit, gc, sys, threading, _json\n${list}`, {
      PYTHONPATH: preload,
      HEADROOM_PROFILE_DIR: '',
    });
    const profiled = python(`import sys\n${list}`, {
      PYTHONPATH: `${site}${path.delimiter}${preload}`,
      HEADROOM_PROFILE_DIR: spool,
    });
    expect(plain).toMatchObject({ status: 0, stderr: '' });
    expect(profiled).toMatchObject({ status: 0, stderr: '' });
    const before = new Set((JSON.parse(plain.stdout) as { names: string[] }).names);
    const after = JSON.parse(profiled.stdout) as {
      names: string[];
      files: Record<string, string>;
      own: string[];
    };
    // No tracemalloc, json, ast...: those load in the mode, or at the moment, that needs them.
    expect(after.names.filter((name) => !before.has(name))).toEqual(growthModules);
    expect(after.files).toEqual(
      Object.fromEntries(growthModules.map((name) => [name, path.join(preload, `${name}.py`)])),
    );
    // Frames in any of them are the profiler's, not the job's.
    expect(after.own).toEqual(
      fs
        .readdirSync(preload)
        .filter((file) => /^_headroom_\w+\.py$/.test(file))
        .sort()
        .map((file) => path.join(preload, file)),
    );
    // And the session started.
    expect(fs.readdirSync(spool).filter((file) => file.endsWith('.jsonl'))).toHaveLength(1);

    const tracing = python(`import sys\n${list}`, {
      PYTHONPATH: `${site}${path.delimiter}${preload}`,
      HEADROOM_PROFILE_DIR: spool,
      HEADROOM_PYTHON_PROFILER: 'tracemalloc',
    });
    expect(tracing).toMatchObject({ status: 0, stderr: '' });
    expect((JSON.parse(tracing.stdout) as { files: Record<string, string> }).files).toMatchObject({
      _headroom_tracemalloc: path.join(preload, '_headroom_tracemalloc.py'),
    });
  });
});
