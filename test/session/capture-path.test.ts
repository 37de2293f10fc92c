import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCapturePath } from '../../src/session/capture-path.js';
import { scratchDir } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());

describe('defaultCapturePath', () => {
  const startMs = Date.UTC(2026, 10, 23, 9, 5, 7);

  it('names the capture after the component, else the program, and the start time', () => {
    const home = path.join(scratch.dir, 'home');
    expect(defaultCapturePath({ home, component: 'scheduler', command: 'airflow', startMs })).toBe(
      path.join(home, 'scheduler-20261123T090507Z.jsonl'),
    );
    expect(defaultCapturePath({ home, component: undefined, command: '/usr/bin/python3', startMs })).toBe(
      path.join(home, 'python3-20261123T090507Z.jsonl'),
    );
    expect(defaultCapturePath({ home, component: '../../etc/x y', command: 'x', startMs })).toBe(
      path.join(home, '.._.._etc_x_y-20261123T090507Z.jsonl'),
    );
  });

  it('never reuses an existing file', () => {
    const home = scratch.dir;
    const first = defaultCapturePath({ home, component: 'job', command: 'x', startMs });
    fs.writeFileSync(first, '');
    const second = defaultCapturePath({ home, component: 'job', command: 'x', startMs });
    expect(second).toBe(path.join(home, 'job-20261123T090507Z-2.jsonl'));
  });
});
