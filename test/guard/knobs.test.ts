import { describe, expect, it } from 'vitest';
import { describeKnobs, runtimeKnobs } from '../../src/guard/knobs.js';

const MiB = 1024 * 1024;

function knobs(overrides: Partial<Parameters<typeof runtimeKnobs>[0]> = {}) {
  return runtimeKnobs({
    limit: 1024 * MiB,
    env: { PATH: '/bin' },
    command: ['python3', 'etl.py'],
    nodeProcesses: 1,
    pythonPreload: '/opt/headroom/preload/python',
    guardLog: '/tmp/guard.jsonl',
    ...overrides,
  });
}

describe('runtimeKnobs', () => {
  it('sets Node, Go, JVM and Python from the limit, leaving room outside each heap', () => {
    const { env, knobs: set } = knobs();
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=768');
    expect(env.GOMEMLIMIT).toBe('921MiB');
    expect(env.JAVA_TOOL_OPTIONS).toBe('-XX:MaxRAM=1073741824 -XX:MaxRAMPercentage=75.0');
    expect(env.PYTHONPATH).toBe('/opt/headroom/preload/python');
    // A tenth below the limit.
    expect(Number(env.HEADROOM_PYTHON_RLIMIT_DATA)).toBe(1024 * MiB - Math.floor(102.4 * MiB));
    expect(env.HEADROOM_GUARD_LOG).toBe('/tmp/guard.jsonl');
    expect(set.map((k) => k.runtime)).toEqual(['node', 'go', 'java', 'python']);
    expect(env.PATH).toBe('/bin');
  });

  it('leaves 64 MiB outside the Node heap under small limits, and splits it between Node processes', () => {
    expect(knobs({ limit: 256 * MiB }).env.NODE_OPTIONS).toBe('--max-old-space-size=192');
    expect(knobs({ limit: 128 * MiB }).env.NODE_OPTIONS).toBe('--max-old-space-size=64');
    expect(knobs({ limit: 1024 * MiB, nodeProcesses: 4 }).env.NODE_OPTIONS).toBe('--max-old-space-size=192');
  });

  it("never overrides the user's own settings, and keeps theirs beside ours", () => {
    const { env, knobs: set } = knobs({
      env: {
        NODE_OPTIONS: '--enable-source-maps --max_old_space_size=4096',
        GOMEMLIMIT: '2GiB',
        JAVA_TOOL_OPTIONS: '-Xmx2g',
        PYTHONPATH: '/app/lib',
      },
    });
    expect(env.NODE_OPTIONS).toBe('--enable-source-maps --max_old_space_size=4096');
    expect(env.GOMEMLIMIT).toBe('2GiB');
    expect(env.JAVA_TOOL_OPTIONS).toBe('-Xmx2g');
    expect(env.PYTHONPATH).toBe('/opt/headroom/preload/python:/app/lib');
    expect(set.map((k) => k.runtime)).toEqual(['python']);
    const fromArgv = knobs({
      command: ['node', '--max-old-space-size=300', 'a.js'],
      env: { NODE_OPTIONS: '--trace-gc' },
    });
    expect(fromArgv.env.NODE_OPTIONS).toBe('--trace-gc');
  });

  it('sets nothing without a limit', () => {
    const { env, knobs: set } = knobs({ limit: null });
    expect(set).toEqual([]);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('describes what it set in one line, as set or as granted', () => {
    expect(describeKnobs(knobs({ limit: 256 * MiB }).knobs, true)).toBe(
      'Node heap 192 MiB, GOMEMLIMIT 230 MiB, JVM heap 192 MiB, Python RLIMIT_DATA 224 MiB',
    );
    expect(describeKnobs(knobs({ limit: 256 * MiB }).knobs)).toBe(
      'NODE_OPTIONS=--max-old-space-size=192, GOMEMLIMIT=230MiB, JAVA_TOOL_OPTIONS=-XX:MaxRAM=268435456 -XX:MaxRAMPercentage=75.0, Python RLIMIT_DATA 224 MiB',
    );
  });
});
