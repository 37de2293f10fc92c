import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isHeadroomError } from '../../src/errors.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();

function withFile(text: string, env: NodeJS.ProcessEnv = {}) {
  fs.writeFileSync(path.join(scratch.dir, 'headroom.toml'), text);
  return loadConfig({ cwd: scratch.dir, env });
}

function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    if (isHeadroomError(error, 'E_CONFIG')) return error.message;
    throw error;
  }
  throw new Error('no E_CONFIG error');
}

describe('headroom.toml and HEADROOM__ variables', () => {
  it('defaults to profiling nothing when there is no file', () => {
    const config = loadConfig({ cwd: scratch.dir, env: {} });
    expect(config.file).toBeNull();
    expect(config.profiling).toEqual({ components: [], python_profiler: 'growth' });
  });

  it('reads [profiling] components from the working directory', () => {
    const config = withFile('[profiling]\ncomponents = ["scheduler", "dag_processor"]\n');
    expect(config.profiling.components).toEqual(['scheduler', 'dag_processor']);
    expect(config.file).toBe(path.join(scratch.dir, 'headroom.toml'));
  });

  it('falls back to $HEADROOM_HOME', () => {
    const home = path.join(scratch.dir, 'home');
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, 'headroom.toml'), '[profiling]\npython_profiler = "tracemalloc"\n');
    const config = loadConfig({ cwd: scratch.dir, env: { HEADROOM_HOME: home } });
    expect(config.profiling.python_profiler).toBe('tracemalloc');
  });

  it('lets the environment override the file, an empty list turning profiling off', () => {
    const text = '[profiling]\ncomponents = ["scheduler"]\n';
    expect(withFile(text, { HEADROOM__PROFILING__COMPONENTS: 'worker, api' }).profiling.components).toEqual([
      'worker',
      'api',
    ]);
    expect(withFile(text, { HEADROOM__PROFILING__COMPONENTS: '' }).profiling.components).toEqual([]);
  });

  it('names the line of a value of the wrong type', () => {
    expect(errorOf(() => withFile('# profiling\n\n[profiling]\ncomponents = "scheduler"\n'))).toBe(
      `${path.join(scratch.dir, 'headroom.toml')}:4: profiling.components: expected array`,
    );
  });

  it('names the line of an unknown option and lists the known ones', () => {
    expect(errorOf(() => withFile('[profiling]\ncomponent = ["scheduler"]\n'))).toMatch(
      /headroom\.toml:2: unknown option profiling\.component \(known: components, python_profiler\)$/,
    );
    expect(errorOf(() => withFile('[profilng]\ncomponents = []\n'))).toMatch(
      /headroom\.toml:1: unknown option \[profilng\]/,
    );
  });

  it('names the line of a syntax error and of a bad choice', () => {
    expect(errorOf(() => withFile('[profiling]\ncomponents = ["a" "b"]\n'))).toMatch(/headroom\.toml:2: /);
    expect(errorOf(() => withFile('[profiling]\npython_profiler = "memray"\n'))).toMatch(
      /headroom\.toml:2: profiling\.python_profiler: expected one of growth, tracemalloc$/,
    );
  });

  it('refuses a variable that names no option, and a bad profiler', () => {
    expect(
      errorOf(() => loadConfig({ cwd: scratch.dir, env: { HEADROOM__PROFILING__COMPONENT: 'x' } })),
    ).toMatch(/^HEADROOM__PROFILING__COMPONENT: no such option/);
    expect(
      errorOf(() => loadConfig({ cwd: scratch.dir, env: { HEADROOM__PROFILING__PYTHON_PROFILER: 'x' } })),
    ).toMatch(/not a Python profiler/);
  });
});
