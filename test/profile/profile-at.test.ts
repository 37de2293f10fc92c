import { describe, expect, it } from 'vitest';
import { profileAt, topSites } from '../../src/profile/profile-at.js';
import { parseCapture } from '../../src/record/capture-reader.js';
import { MiB } from '../fixtures/captures.js';
import { END_MS, NODE_PID, PEAK_MS, profileCaptureText } from '../fixtures/profile-captures.js';

describe('merging profiles at a time', () => {
  it("never names headroom's own profiler as a site of the job", () => {
    const extra = [
      ['N', 1600, NODE_PID, [900, 0, 'fetch', '/usr/lib/headroom/dist/node-preload.cjs', 219]],
      ['A', 1700, NODE_PID, 'peak', [900, 300 * MiB, 1]],
    ];
    const capture = parseCapture(profileCaptureText({ extra }));
    // Written after the fixture's own records, so it is the node process's last snapshot.
    const view = profileAt(capture, 'end');
    // It holds memory, and the flame graph shows it; the table of sites does not blame the job for it.
    expect(view.totalBytes).toBeGreaterThan(300 * MiB);
    expect(topSites(view).map((site) => site.frame.name)).not.toContain('fetch');
    expect(topSites(view)[0]?.frame.name).toBe('transform');
  });

  it('leaves out a process that had not started by the time asked for', () => {
    const capture = parseCapture(profileCaptureText());
    expect(profileAt(capture, 0).parts.map((part) => part.pid)).not.toContain(NODE_PID);
    expect(profileAt(capture, END_MS).parts.length).toBeGreaterThan(0);
  });

  it('takes the exit snapshot of a process too busy to write one before, not one from its start', () => {
    const pid = 303;
    const extra = [
      ['P', 100, pid, 1, 'node', ['node', '/app/busy.mjs']],
      ['I', 100, pid, { runtime: 'node', mode: 'sampling', interval: 131072, argv: ['node'] }],
      ['N', 100, pid, [1, 0, 'boot', 'node:internal/main', 1, 2, 0, 'buildTable', '/app/busy.mjs', 7]],
      ['p', 150, pid, 10 * 1024, 0, 0, 0],
      ['A', 150, pid, 'peak', [1, MiB, 3]],
      ['p', 1900, pid, 100 * 1024, 0, 0, 0],
      ['A', 3500, pid, 'exit', [2, 90 * MiB, 700]],
    ];
    const capture = parseCapture(profileCaptureText({ extra }));
    const part = profileAt(capture, PEAK_MS).parts.find((p) => p.pid === pid);
    expect(part?.snapshot.timeMs).toBe(3500);
    // Where the latest snapshot before the time is near what the process held, it stands.
    const early = profileAt(capture, 200).parts.find((p) => p.pid === pid);
    expect(early?.snapshot.timeMs).toBe(150);
  });

  it('does not take a later snapshot when the process let go of its memory in between (a later phase)', () => {
    const pid = 404;
    const extra = [
      ['P', 100, pid, 1, 'node', ['node', '/app/phases.mjs']],
      ['I', 100, pid, { runtime: 'node', mode: 'sampling', interval: 131072, argv: ['node'] }],
      ['N', 100, pid, [1, 0, 'firstPhase', '/app/phases.mjs', 3, 2, 0, 'secondPhase', '/app/phases.mjs', 9]],
      ['p', 150, pid, 10 * 1024, 0, 0, 0],
      ['A', 150, pid, 'peak', [1, 8 * MiB, 3]],
      ['p', 1900, pid, 100 * 1024, 0, 0, 0],
      ['p', 2500, pid, 5 * 1024, 0, 0, 0],
      ['p', 3000, pid, 100 * 1024, 0, 0, 0],
      ['A', 3200, pid, 'exit', [2, 90 * MiB, 700]],
    ];
    const capture = parseCapture(profileCaptureText({ extra }));
    const part = profileAt(capture, PEAK_MS).parts.find((p) => p.pid === pid);
    expect(part?.snapshot.timeMs).toBe(150);
  });
});
