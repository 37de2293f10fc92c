import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ProcessReader,
  parseStatus,
  readArgv,
  readArgvAsync,
  readCgroupPids,
  readPss,
  systemPageSize,
} from '../../src/kernel/index.js';
import {
  type FixtureHost,
  fixtureHost,
  kernelThreadStatusText,
  smapsRollupText,
  statusText,
} from '../fixtures/cgroup-tree.js';
import { headroomError } from '../helpers/errors.js';

let fixture: FixtureHost | undefined;
const opened: Array<{ close(): void }> = [];
afterEach(() => {
  for (const file of opened.splice(0)) file.close();
  fixture?.cleanup();
  fixture = undefined;
});

function host(): FixtureHost {
  fixture = fixtureHost();
  return fixture;
}

describe('parseStatus', () => {
  it('reads pid, ppid, name and the Rss/Swap lines in bytes', () => {
    const text = statusText({
      name: 'python3',
      pid: 4321,
      ppid: 4300,
      rssAnonKb: 204_800,
      rssFileKb: 12_345,
      rssShmemKb: 1_024,
      swapKb: 77,
    });
    expect(parseStatus(4321, text)).toEqual({
      pid: 4321,
      ppid: 4300,
      name: 'python3',
      rssAnon: 204_800 * 1024,
      rssFile: 12_345 * 1024,
      rssShmem: 1_024 * 1024,
      swap: 77 * 1024,
    });
  });

  it('does not take TracerPid or NSpid for PPid, nor VmRSS for RssAnon', () => {
    const text = statusText({
      name: 'x',
      pid: 10,
      ppid: 1,
      rssAnonKb: 5,
      rssFileKb: 6,
      rssShmemKb: 7,
      swapKb: 8,
    });
    const parsed = parseStatus(10, text);
    expect(parsed.ppid).toBe(1);
    expect(parsed.rssAnon).toBe(5 * 1024);
  });

  it('a kernel thread has no Rss lines and reads as zero', () => {
    expect(parseStatus(57, kernelThreadStatusText('kworker/u8:3', 57))).toEqual({
      pid: 57,
      ppid: 2,
      name: 'kworker/u8:3',
      rssAnon: 0,
      rssFile: 0,
      rssShmem: 0,
      swap: 0,
    });
  });

  it('keeps spaces inside a name', () => {
    const text = statusText({
      name: 'Web Content',
      pid: 9,
      ppid: 1,
      rssAnonKb: 0,
      rssFileKb: 0,
      rssShmemKb: 0,
      swapKb: 0,
    });
    expect(parseStatus(9, text).name).toBe('Web Content');
  });

  it('reads this process from the real /proc', () => {
    const parsed = parseStatus(process.pid, fs.readFileSync(`/proc/${process.pid}/status`, 'latin1'));
    expect(parsed.pid).toBe(process.pid);
    expect(parsed.ppid).toBe(process.ppid);
    expect(parsed.name.length).toBeGreaterThan(0);
    // A Node process has tens of MiB of anonymous memory (the V8 heap at least).
    expect(parsed.rssAnon).toBeGreaterThan(4 * 1024 * 1024);
    expect(parsed.rssAnon % 1024).toBe(0);
  });
});

describe('readArgv', () => {
  it('splits NUL-separated cmdline and keeps empty and spaced arguments', () => {
    const f = host();
    f.addProcess(100, { cmdline: ['python3', '-c', 'print("a b")', '', 'x'] });
    expect(readArgv(100, f.host)).toEqual(['python3', '-c', 'print("a b")', '', 'x']);
  });

  it('is empty for a kernel thread (empty cmdline) or a missing process', () => {
    const f = host();
    f.addProcess(2, { cmdline: [] });
    expect(readArgv(2, f.host)).toEqual([]);
    expect(readArgv(99_999, f.host)).toEqual([]);
  });

  it('reads this process from the real /proc', () => {
    const argv = readArgv(process.pid);
    expect(argv.length).toBeGreaterThan(0);
    expect(argv[0]).toMatch(/node/);
  });

  it('reads a command line of several pages whole, off the event loop', async () => {
    const long = 'x'.repeat(10_000);
    // A shell that waits for its sleep: its own argv stays, with the long argument in it.
    const child = spawn('sh', ['-c', 'sleep 30; :', 'sh', long, 'last'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      expect(await readArgvAsync(child.pid ?? 0)).toEqual(['sh', '-c', 'sleep 30; :', 'sh', long, 'last']);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await readArgvAsync(999_999_999)).toEqual([]);
  });
});

describe('readPss', () => {
  it('reads Pss and its split from smaps_rollup, in bytes, not confusing Pss with Pss_Anon', () => {
    const f = host();
    f.addProcess(200, {
      smapsRollup: smapsRollupText({ rss: 9000, pss: 6000, pssAnon: 4000, pssFile: 1900, pssShmem: 100 }),
    });
    expect(readPss(200, f.host)).toEqual({
      pss: 6000 * 1024,
      pssAnon: 4000 * 1024,
      pssFile: 1900 * 1024,
      pssShmem: 100 * 1024,
    });
  });

  it('is undefined when smaps_rollup is unreadable', () => {
    expect(readPss(12_345, host().host)).toBeUndefined();
  });

  it('reads this process from the real /proc', () => {
    const pss = readPss(process.pid);
    expect(pss?.pss).toBeGreaterThan(0);
    expect(pss?.pssAnon).toBeGreaterThan(0);
  });
});

describe('readCgroupPids', () => {
  function procsFile(content: string): string {
    const f = host();
    f.write('/sys/fs/cgroup/job/cgroup.procs', content);
    return f.at('/sys/fs/cgroup/job/cgroup.procs');
  }

  it('reads one pid a line, with or without a final newline', () => {
    expect(readCgroupPids(procsFile('12\n345\n4194304\n'))).toEqual([12, 345, 4_194_304]);
    fixture?.cleanup();
    expect(readCgroupPids(procsFile('7\n8'))).toEqual([7, 8]);
  });

  it('an empty cgroup has no pids', () => {
    expect(readCgroupPids(procsFile(''))).toEqual([]);
  });

  it('a missing file (removed cgroup) has no pids', () => {
    const file = procsFile('31\n32\n');
    expect(readCgroupPids(file)).toEqual([31, 32]);
    expect(readCgroupPids(`${file}.gone`)).toEqual([]);
  });
});

describe('ProcessReader', () => {
  it('reads a fixture process and its argv', async () => {
    const f = host();
    f.addProcess(300, {
      status: statusText({
        name: 'node',
        pid: 300,
        ppid: 1,
        rssAnonKb: 1000,
        rssFileKb: 2000,
        rssShmemKb: 0,
        swapKb: 0,
      }),
      cmdline: ['node', 'server.js'],
    });
    const reader = new ProcessReader(300, f.host);
    opened.push(reader);
    expect(reader.read()).toMatchObject({
      pid: 300,
      name: 'node',
      rssAnon: 1000 * 1024,
      rssFile: 2000 * 1024,
    });
    expect(readArgv(300, f.host)).toEqual(['node', 'server.js']);
    expect(await readArgvAsync(300, f.host)).toEqual(['node', 'server.js']);
  });

  it('a process that is not there is an E_KERNEL_FILE error naming its status file', () => {
    const f = host();
    expect(() => new ProcessReader(404, f.host)).toThrow(headroomError('E_KERNEL_FILE'));
    expect(() => new ProcessReader(404, f.host)).toThrow(
      `${path.join(f.root, '/proc/404/status')}: does not exist`,
    );
  });
});

describe('ProcessReader.readResident (statm)', () => {
  it('agrees with status for a real process: resident = anon + file + shmem, shared = file + shmem', () => {
    const reader = new ProcessReader(process.pid);
    try {
      const status = reader.read();
      const resident = reader.readResident();
      if (!status || !resident) throw new Error('own process unreadable');
      const fromStatus = status.rssAnon + status.rssFile + status.rssShmem;
      expect(Math.abs(resident.resident - fromStatus)).toBeLessThan(2 * 1024 * 1024);
      expect(Math.abs(resident.shared - (status.rssFile + status.rssShmem))).toBeLessThan(2 * 1024 * 1024);
      expect(resident.text).toBeGreaterThan(0);
      expect(systemPageSize()).toBe(4096);
    } finally {
      reader.close();
    }
  });
});
