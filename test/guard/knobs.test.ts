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

describe('runtimeKnobs with a graceful path', () => {
  const limit = 512 * MiB;
  const watch = (percent: number) => ({
    limit,
    graceful: { label: `the watchdog's SIGTERM at ${percent}%`, bytes: Math.floor((percent / 100) * limit) },
  });
  const granted = (set: ReturnType<typeof knobs>) =>
    Object.fromEntries(set.knobs.map((knob) => [knob.runtime, knob.bytes]));

  it('leaves every knob where it was when the threshold is low enough to clear them all', () => {
    const plain = knobs({ limit });
    const at60 = knobs(watch(60));
    expect(at60.env).toEqual(plain.env);
    expect(at60.order).toMatchObject({ first: 'graceful', thresholdBytes: Math.floor(0.6 * limit) });
    expect(at60.order?.message).toMatch(/^the watchdog's SIGTERM at 60% acts first: Node heap 384 MiB, /);
    // At 70 % (358 MiB) the heaps' 384 MiB would be less than 32 MiB above it.
    expect(knobs(watch(70)).env.NODE_OPTIONS).toBe('--max-old-space-size=391');
  });

  it('raises each knob 32 MiB above the threshold, below the limit, where there is room (80 % of 512 MiB)', () => {
    const { env, knobs: set, order } = knobs(watch(80));
    const floor = Math.floor(0.8 * limit) + 32 * MiB;
    // 441.6 MiB, rounded up: a knob rounded down would land below the gap.
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=442');
    expect(env.JAVA_TOOL_OPTIONS).toBe('-XX:MaxRAM=536870912 -XX:MaxRAMPercentage=86.3');
    // Python's and Go's defaults (90 % of the limit) are already above it.
    expect(Number(env.HEADROOM_PYTHON_RLIMIT_DATA)).toBe(limit - Math.floor(51.2 * MiB));
    expect(env.GOMEMLIMIT).toBe('460MiB');
    for (const knob of set.filter((k) => k.runtime !== 'go')) {
      expect(knob.bytes).toBeGreaterThanOrEqual(floor);
      expect(knob.bytes).toBeLessThan(limit);
    }
    expect(order).toEqual({
      graceful: "the watchdog's SIGTERM at 80%",
      thresholdBytes: Math.floor(0.8 * limit),
      first: 'graceful',
      message:
        "the watchdog's SIGTERM at 80% acts first: Node heap 442 MiB, JVM heap 442 MiB and Python RLIMIT_DATA 461 MiB sit 32 MiB or more above it, below the limit",
    });
  });

  it('at 90 %: Python above the threshold and below the limit; the heaps stay backstops and say they can act first', () => {
    const result = knobs(watch(90));
    // 460.8 + 32 MiB, rounded up, and 16 MiB (or 3 %) still below the limit.
    expect(granted(result)).toEqual({ node: 448 * MiB, go: 486 * MiB, java: 448 * MiB, python: 493 * MiB });
    expect(result.order?.first).toBe('knob');
    expect(result.order?.message).toBe(
      "the watchdog's SIGTERM at 90% acts first for Python: Python RLIMIT_DATA 493 MiB sits 32 MiB or more above it, below the limit; but Node heap 448 MiB and JVM heap 448 MiB (a heap needs room beside it below the limit) can act before it",
    );
  });

  it('at 95 % and 99 %: no room below the limit, so Python goes 32 MiB above the limit', () => {
    // At the limit it would refuse the next chunk's mapping before the cgroup had charged a page of it.
    expect(granted(knobs(watch(95))).python).toBe(544 * MiB);
    expect(granted(knobs(watch(99))).python).toBe(544 * MiB);
    expect(knobs(watch(95)).order?.message).toMatch(
      /acts first for Python: Python RLIMIT_DATA 544 MiB sits 32 MiB above the limit, as there is no room for it 32 MiB above the threshold and 16 MiB below the limit \(the limit comes first;/,
    );
  });

  it('scales the gap with the limit: 5 % of it, at least 32 MiB', () => {
    const big = knobs({
      limit: 8192 * MiB,
      graceful: { label: 'at 90%', bytes: Math.floor(0.9 * 8192 * MiB) },
    });
    // 7372.8 + 409.6 MiB, below 8192 − 245.76 MiB.
    expect(granted(big).python).toBe(7783 * MiB);
    const small = knobs({
      limit: 128 * MiB,
      graceful: { label: '--restart-above 80%', bytes: Math.floor(0.8 * 128 * MiB) },
    });
    expect(granted(small).python).toBe(160 * MiB);
  });

  it("says when the user's own knob sits below the threshold, and leaves it alone", () => {
    const { env, order } = knobs({
      ...watch(95),
      env: { NODE_OPTIONS: '--max-old-space-size=256', HEADROOM_PYTHON_RLIMIT_DATA: String(300 * MiB) },
      command: ['java', '-Xmx200m', '-jar', 'app.jar'],
    });
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=256');
    expect(env.HEADROOM_PYTHON_RLIMIT_DATA).toBe(String(300 * MiB));
    expect(order?.first).toBe('knob');
    expect(order?.message).toBe(
      "your own Node --max-old-space-size=256, your own JVM -Xmx200m and your own Python RLIMIT_DATA 300 MiB (headroom leaves a setting of yours alone: raise it to 519 MiB or lower the threshold) can act before the watchdog's SIGTERM at 95%",
    );
    // Theirs above the gap: nothing to say about them.
    const above = knobs({ ...watch(80), env: { NODE_OPTIONS: '--max-old-space-size=500' } });
    expect(above.order?.first).toBe('graceful');
  });

  it("counts a lower RLIMIT_DATA the job inherits as the user's own: the preload keeps it", () => {
    const { order } = knobs({ ...watch(90), inheritedDataLimit: 256 * MiB });
    expect(order?.message).toMatch(
      /below the limit\), your own Python RLIMIT_DATA 256 MiB \(headroom leaves a setting of yours alone: raise it to 493 MiB or lower the threshold\) can act before the watchdog's SIGTERM at 90%$/,
    );
  });

  it("setting nothing itself, speaks only of the user's own knobs", () => {
    expect(knobs({ ...watch(95), set: false })).toEqual({ env: { PATH: '/bin' }, knobs: [] });
    const theirs = knobs({ ...watch(95), set: false, env: { NODE_OPTIONS: '--max-old-space-size=128' } });
    expect(theirs.knobs).toEqual([]);
    expect(theirs.order?.message).toMatch(
      /^your own Node --max-old-space-size=128 \(.*\) can act before the watchdog/,
    );
  });

  it('ignores a graceful path at or above the limit: it never acts', () => {
    const plain = knobs({ limit });
    const over = knobs({ limit, graceful: { label: '--restart-above 600 MiB', bytes: 600 * MiB } });
    expect(over).toEqual(plain);
  });
});
