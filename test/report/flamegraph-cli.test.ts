import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlamePageData } from '../../src/report/html/flamegraph-page.js';
import { removeCaptureDirs } from '../fixtures/captures.js';
import { PEAK_MS, profileCaptureText } from '../fixtures/profile-captures.js';
import { expectOneLineError, runCli, scratchDir } from '../helpers/run-cli.js';

let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());
afterAll(removeCaptureDirs);

function pageData(file: string): FlamePageData {
  const html = fs.readFileSync(file, 'utf8');
  const match = /<script type="application\/json" id="headroom-data">([^<]*)<\/script>/.exec(html);
  return JSON.parse(match?.[1] ?? 'null') as FlamePageData;
}

function initialMs(data: FlamePageData): number | undefined {
  return data.profile.positions[data.profile.initial]?.timeMs;
}

function capture(name = 'job.hrc', profiles = true): string {
  const file = path.join(scratch.dir, name);
  fs.writeFileSync(file, profileCaptureText({ profiles }));
  return file;
}

describe('headroom flamegraph', () => {
  it('writes CAPTURE.flamegraph.html beside the capture, at the peak', async () => {
    const file = capture();
    const result = await runCli(['flamegraph', file], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    const html = `${file}.flamegraph.html`;
    expect(result.stderr).toBe(`headroom: flame graph written to ${html}\n`);
    expect(result.stdout).toBe('');
    expect(fs.readdirSync(scratch.dir).filter((name) => name.endsWith('.html'))).toEqual([
      'job.hrc.flamegraph.html',
    ]);
    const data = pageData(html);
    expect(initialMs(data)).toBe(PEAK_MS);
    expect(data.profile.join).toContain('was allocated in load_everything');
    expect(fs.readFileSync(html, 'utf8').startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('-o names the file and --at picks the first view', async () => {
    const file = capture();
    const end = await runCli(['flamegraph', file, '-o', 'end.html', '--at', 'end'], { cwd: scratch.dir });
    expect(end.status).toBe(0);
    expect(end.stderr).toBe('headroom: flame graph written to end.html\n');
    expect(pageData(path.join(scratch.dir, 'end.html')).profile.positions.at(-1)?.label).toContain('the end');
    const time = await runCli(['flamegraph', file, '-o', 'at.html', '--at', '1.2s'], { cwd: scratch.dir });
    expect(time.status).toBe(0);
    expect(initialMs(pageData(path.join(scratch.dir, 'at.html')))).toBe(1200);
    const seconds = await runCli(['flamegraph', file, '-o', 's.html', '--at', '3'], { cwd: scratch.dir });
    expect(seconds.status).toBe(0);
    expect(initialMs(pageData(path.join(scratch.dir, 's.html')))).toBe(3000);
  });

  it('a capture without a profile is one line and status 1, and writes nothing', async () => {
    const file = capture('bare.hrc', false);
    const result = await runCli(['flamegraph', file], { cwd: scratch.dir });
    expect(result.status).toBe(1);
    // The same line as every profile view.
    expectOneLineError(
      result.stderr,
      /^headroom: no allocation profile in .*bare\.hrc \(run with --profile or list the component in headroom\.toml \[profiling\] components\) \[E_NO_PROFILE\]$/,
    );
    expect(fs.existsSync(`${file}.flamegraph.html`)).toBe(false);
    // Profiled, but killed before any snapshot.
    const early = path.join(scratch.dir, 'early.hrc');
    const lines = profileCaptureText().split('\n');
    fs.writeFileSync(early, `${lines.filter((line) => !line.startsWith('["A"')).join('\n')}`);
    const none = await runCli(['flamegraph', early], { cwd: scratch.dir });
    expect(none.status).toBe(1);
    expectOneLineError(
      none.stderr,
      /^headroom: no allocation profile in .*early\.hrc: the profilers started but wrote no snapshot \(pid 202: snapshot refused: /,
    );
    expect(fs.existsSync(`${early}.flamegraph.html`)).toBe(false);
  });

  it('never replaces a file without --force', async () => {
    const file = capture();
    const html = `${file}.flamegraph.html`;
    fs.writeFileSync(html, 'earlier\n');
    const refused = await runCli(['flamegraph', file], { cwd: scratch.dir });
    expect(refused.status).toBe(1);
    expectOneLineError(
      refused.stderr,
      /^headroom: .*job\.hrc\.flamegraph\.html exists; pass --force to replace it, or -o another file \[E_OUTPUT_EXISTS\]$/,
    );
    expect(fs.readFileSync(html, 'utf8')).toBe('earlier\n');
    const named = path.join(scratch.dir, 'mine.html');
    fs.writeFileSync(named, 'mine\n');
    const other = await runCli(['flamegraph', file, '-o', 'mine.html'], { cwd: scratch.dir });
    expect(other.status).toBe(1);
    expect(fs.readFileSync(named, 'utf8')).toBe('mine\n');
    const forced = await runCli(['flamegraph', file, '--force'], { cwd: scratch.dir });
    expect(forced.status).toBe(0);
    expect(forced.stderr).toBe(`headroom: flame graph written to ${html}\n`);
    expect(initialMs(pageData(html))).toBe(PEAK_MS);
    // A directory in the way is said as such, --force or not; nothing is left behind.
    fs.mkdirSync(path.join(scratch.dir, 'taken.html'));
    for (const force of [[], ['--force']]) {
      const dir = await runCli(['flamegraph', file, '-o', 'taken.html', ...force], { cwd: scratch.dir });
      expect(dir.status).toBe(1);
      expectOneLineError(
        dir.stderr,
        /^headroom: cannot write the flame graph taken\.html: is a directory \[E_OUTPUT_WRITE\]$/,
      );
    }
    expect(fs.readdirSync(scratch.dir).sort()).toEqual([
      'job.hrc',
      'job.hrc.flamegraph.html',
      'mine.html',
      'taken.html',
    ]);
  });

  it('--at after the end of the capture warns, as the other profile views do', async () => {
    const file = capture();
    const result = await runCli(['flamegraph', file, '--at', '1m'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      'headroom: warning: --at 1m00.0s is after the end of the capture (4.05s); nothing was running then\n' +
        `headroom: flame graph written to ${file}.flamegraph.html\n`,
    );
  });

  it('bad input is one line: a wrong --at, a missing capture, an unwritable -o, the capture itself', async () => {
    const file = capture();
    const at = await runCli(['flamegraph', file, '--at', 'later'], { cwd: scratch.dir });
    expect(at.status).toBe(2);
    expectOneLineError(at.stderr, /^headroom: --at: "later" is not a time \(peak, end, or /);
    const missing = await runCli(['flamegraph', 'nope.hrc'], { cwd: scratch.dir });
    expect(missing.status).toBe(1);
    expectOneLineError(missing.stderr, /^headroom: nope\.hrc: /);
    const dir = await runCli(['flamegraph', file, '-o', 'no/such/dir/f.html'], { cwd: scratch.dir });
    expect(dir.status).toBe(1);
    expectOneLineError(
      dir.stderr,
      /^headroom: cannot write the flame graph no\/such\/dir\/f\.html: no such directory \[E_OUTPUT_WRITE\]$/,
    );
    const itself = await runCli(['flamegraph', file, '-o', file], { cwd: scratch.dir });
    expect(itself.status).toBe(1);
    expectOneLineError(itself.stderr, /is the capture itself/);
    expect(fs.readFileSync(file, 'utf8')).toBe(profileCaptureText());
  });
});
