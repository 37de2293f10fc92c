import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { locateMemoryCgroup } from '../../src/kernel/index.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { CaptureWriter } from '../../src/record/capture-writer.js';
import { Sampler } from '../../src/record/sampler.js';
import { captureHeader } from '../fixtures/captures.js';
import { FIXTURE_PID, type FixtureHost, v2Tree } from '../fixtures/cgroup-tree.js';
import { useScratchDir } from '../helpers/run-cli.js';

const scratch = useScratchDir();
let fixture: FixtureHost | undefined;
afterEach(() => {
  fixture?.cleanup();
  fixture = undefined;
});

describe.runIf(process.platform === 'linux')('the sampler at the v2 root (run --observe there)', () => {
  it("samples the machine's memory instead of stopping at the missing memory.current", () => {
    fixture = v2Tree({}, { self: '/' });
    const located = locateMemoryCgroup('self', fixture.host);
    if (!located.ok) throw new Error(located.message);
    const file = path.join(scratch.dir, 'capture.jsonl');
    const writer = new CaptureWriter(
      file,
      captureHeader({ cgroup: { version: 2, path: '/', mode: 'observe', ancestorsHidden: false } }),
    );
    // The root reader takes this machine's /proc: the sampler reads the host it runs on.
    const sampler = new Sampler({
      cgroup: located.cgroup,
      writer,
      startMs: Date.now(),
      excludePids: new Set([FIXTURE_PID]),
      recordSelf: false,
    });
    const first = sampler.tick(true);
    expect(first.sample.usage).toBeGreaterThan(0);
    expect(first.sample.limit).toBeNull();
    expect(first.sample.peak).toBeNull();
    sampler.stop();
    writer.close();
    const capture = readCapture(file);
    expect(capture.series.values.usage?.length).toBeGreaterThanOrEqual(2);
  });
});
