import { describe, expect, it } from 'vitest';
import { programName } from '../../src/record/program-name.js';

describe('programName', () => {
  it("keeps the kernel's name for a process", () => {
    expect(programName('python3', ['python3', 'etl.py'])).toBe('python3');
    expect(programName('node', ['/usr/local/bin/node', 'app.js'])).toBe('node');
    // A program may call itself anything; only a main thread's name is replaced.
    expect(programName('airflow task', ['/usr/bin/python3'])).toBe('airflow task');
  });

  it('names a process called after its main thread (Node 24: MainThread) by the program it runs', () => {
    expect(programName('MainThread', ['/usr/local/bin/node', 'app.js'])).toBe('node');
    expect(programName('MainThread', ['node'])).toBe('node');
  });

  it('keeps the main thread name while argv is not known', () => {
    expect(programName('MainThread', [])).toBe('MainThread');
    expect(programName('MainThread', [''])).toBe('MainThread');
  });
});
