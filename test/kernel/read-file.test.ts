import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeptOpenFile, readKernelFile, readOptionalKernelFile } from '../../src/kernel/index.js';
import { headroomError } from '../helpers/errors.js';

let dir: string;
const opened: KeptOpenFile[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-read-file-'));
});
afterEach(() => {
  for (const file of opened.splice(0)) file.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function keep(file: string): KeptOpenFile {
  const kept = new KeptOpenFile(file);
  opened.push(kept);
  return kept;
}

describe('readKernelFile and readOptionalKernelFile', () => {
  it('a missing file is an E_KERNEL_FILE error naming it, or undefined when optional', () => {
    const file = path.join(dir, 'memory.peak');
    let error: unknown;
    try {
      readKernelFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'E_KERNEL_FILE',
      details: { path: file, errno: 'ENOENT' },
      message: `${file}: does not exist`,
    });
    expect(readOptionalKernelFile(file)).toBeUndefined();
  });

  it('a directory in place of a file is an error even when optional', () => {
    expect(() => readOptionalKernelFile(dir)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => readOptionalKernelFile(dir)).toThrow(new RegExp(`^${dir}: `));
  });

  it('reads bytes as latin1 so any byte survives', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, Buffer.from([0x61, 0xff, 0x0a]));
    expect(readKernelFile(file)).toBe('a\u00ff\n');
  });

  it('reads a file larger than its buffer whole, and a smaller one after it without its tail', () => {
    const large = path.join(dir, 'mountinfo');
    const text = Array.from({ length: 3000 }, (_, i) => `${i} mount line\n`).join('');
    fs.writeFileSync(large, text);
    const small = path.join(dir, 'memory.max');
    fs.writeFileSync(small, 'max\n');
    expect(text.length).toBeGreaterThan(32 * 1024);
    expect(readKernelFile(large)).toBe(text);
    expect(readKernelFile(small)).toBe('max\n');
    expect(readOptionalKernelFile(large)).toBe(text);
    // Past what the buffer keeps: read whole, and what comes after is still read right.
    const huge = path.join(dir, 'maps');
    const hugeText = text.repeat(5);
    fs.writeFileSync(huge, hugeText);
    expect(readKernelFile(huge)).toBe(hugeText);
    expect(readKernelFile(small)).toBe('max\n');
    expect(readKernelFile(large)).toBe(text);
  });
});

describe('KeptOpenFile', () => {
  it('re-reads from the start after the content changed', () => {
    const file = path.join(dir, 'memory.current');
    fs.writeFileSync(file, '4096\n');
    const kept = keep(file);
    expect(kept.read()).toBe('4096\n');
    fs.writeFileSync(file, '8192\n');
    expect(kept.read()).toBe('8192\n');
  });

  it('reads content larger than its initial buffer whole', () => {
    const file = path.join(dir, 'cgroup.procs');
    const content = Array.from({ length: 30_000 }, (_, i) => `${100_000 + i}\n`).join('');
    expect(content.length).toBeGreaterThan(128 * 1024);
    fs.writeFileSync(file, content);
    expect(keep(file).read()).toBe(content);
  });

  it('opening a missing file is an E_KERNEL_FILE error naming it', () => {
    const file = path.join(dir, 'memory.current');
    expect(() => new KeptOpenFile(file)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => new KeptOpenFile(file)).toThrow(`${file}: does not exist`);
  });

  it('readBytes gives the content without a string and is undefined once the file is gone', () => {
    const file = path.join(dir, 'statm');
    fs.writeFileSync(file, '100 20 5 3 0 40 0\n');
    const kept = keep(file);
    expect(kept.readBytes()?.toString('latin1')).toBe('100 20 5 3 0 40 0\n');
    fs.writeFileSync(file, '7\n');
    expect(kept.readBytes()?.toString('latin1')).toBe('7\n');
  });

  it('reads undefined after close, and close twice is harmless', () => {
    const file = path.join(dir, 'x');
    fs.writeFileSync(file, '1\n');
    const kept = keep(file);
    kept.close();
    kept.close();
    expect(kept.read()).toBeUndefined();
  });

  describe('on a real process', () => {
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      child = undefined;
    });

    it('reads /proc/PID/status while the process lives and undefined once it has exited', async () => {
      const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
      child = sleeper;
      await once(sleeper, 'spawn');
      const status = keep(`/proc/${sleeper.pid}/status`);
      // Until exec completes, the child may still be named after node.
      await expect.poll(() => status.read(), { timeout: 15_000 }).toMatch(/^Name:\tsleep\n/);
      expect(status.read()).toContain(`\nPid:\t${sleeper.pid}\n`);
      sleeper.kill('SIGTERM');
      // 'exit' is emitted after libuv reaped the child, so /proc/PID is gone.
      await once(sleeper, 'exit');
      expect(status.read()).toBeUndefined();
      expect(status.read()).toBeUndefined();
    });
  });
});
