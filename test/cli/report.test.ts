import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  captureHeader,
  endRecord,
  processMemory,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../fixtures/captures.js';
import { expectOneLineError, runCli, scratchDir } from '../helpers/run-cli.js';
import { HOSTILE, hostileCapture } from '../report/html/report-fixture.js';

let scratch: { dir: string; cleanup: () => void };
beforeEach(() => {
  scratch = scratchDir();
});
afterEach(() => scratch.cleanup());
afterAll(removeCaptureDirs);

function embeddedCommand(html: string): string[] {
  const match = /<script type="application\/json" id="headroom-data">([^<]*)<\/script>/.exec(html);
  return (JSON.parse(match?.[1] ?? 'null') as { command: string[] }).command;
}

describe('headroom report', () => {
  it('writes CAPTURE.html beside the capture by default', async () => {
    const capture = path.join(scratch.dir, 'job.hrc');
    fs.copyFileSync(hostileCapture(), capture);
    const result = await runCli(['report', capture], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    const html = path.join(scratch.dir, 'job.html');
    expect(result.stderr).toBe(`headroom: report written to ${html}\n`);
    expect(result.stdout).toBe('');
    const text = fs.readFileSync(html, 'utf8');
    expect(text.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(embeddedCommand(text)).toEqual(['python', 'etl.py', HOSTILE.script, HOSTILE.img]);
    expect(fs.readdirSync(scratch.dir).sort()).toEqual(['job.hrc', 'job.html']);
  });

  it('hides passwords, tokens and URL credentials from the report unless --no-redact', async () => {
    const argv = ['psql', '--password', 'hunter2', 'postgres://etl:pw9@db/x'];
    const capture = writeCapture(
      (writer) => {
        writer.processStart(0, 100, 1, 'psql', argv);
        writer.processStart(0, 101, 100, 'sh', ['sh', '-c', 'PGPASSWORD=hunter3 load --token=t0k3n']);
        writer.sample(0, sampleValues({ usage: 1e6, anon: 1e6 }));
        writer.processMemory(0, processMemory(100, { name: 'psql', rssAnon: 1e6 }));
        writer.processMemory(0, processMemory(101, { name: 'sh', ppid: 100, rssAnon: 1e5 }));
        writer.end(100, endRecord({ durationMs: 100 }));
      },
      captureHeader({ command: argv }),
    );
    const secrets = /hunter2|hunter3|pw9|t0k3n/;
    expect(fs.readFileSync(capture, 'utf8')).toMatch(secrets);
    expect((await runCli(['report', capture, '-o', 'r.html'], { cwd: scratch.dir })).status).toBe(0);
    const html = fs.readFileSync(path.join(scratch.dir, 'r.html'), 'utf8');
    expect(html).not.toMatch(secrets);
    expect(embeddedCommand(html)).toEqual(['psql', '--password', '***', 'postgres://etl:***@db/x']);
    const kept = await runCli(['report', capture, '--no-redact', '-o', 'k.html'], { cwd: scratch.dir });
    expect(kept.status).toBe(0);
    const keptHtml = fs.readFileSync(path.join(scratch.dir, 'k.html'), 'utf8');
    expect(embeddedCommand(keptHtml)).toEqual(argv);
    // The child's argv reaches the page too (the process table), so its redaction above was tested.
    expect(keptHtml).toContain('PGPASSWORD=hunter3 load --token=t0k3n');
  });

  it('-o names the file, relative to the working directory', async () => {
    const result = await runCli(['report', hostileCapture(), '-o', 'out.html'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('headroom: report written to out.html\n');
    expect(fs.statSync(path.join(scratch.dir, 'out.html')).size).toBeGreaterThan(50_000);
  });

  it('an unwritable -o is one line and status 1', async () => {
    const capture = hostileCapture();
    const missing = await runCli(['report', capture, '-o', 'no/such/dir/r.html'], { cwd: scratch.dir });
    expect(missing.status).toBe(1);
    expectOneLineError(
      missing.stderr,
      /^headroom: cannot write the report no\/such\/dir\/r\.html: no such directory \[E_OUTPUT_WRITE\]$/,
    );
    fs.mkdirSync(path.join(scratch.dir, 'taken.html'));
    const directory = await runCli(['report', capture, '-o', 'taken.html'], { cwd: scratch.dir });
    expect(directory.status).toBe(1);
    expectOneLineError(directory.stderr, /^headroom: cannot write the report taken\.html: /);
    expect(fs.readdirSync(scratch.dir)).toEqual(['taken.html']);
  });

  it('a file that is not a capture is one line and status 1', async () => {
    const file = path.join(scratch.dir, 'notes.txt');
    fs.writeFileSync(file, 'hello\n');
    const result = await runCli(['report', file], { cwd: scratch.dir });
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, /^headroom: .*notes\.txt: /);
    const missing = await runCli(['report', 'nope.hrc'], { cwd: scratch.dir });
    expect(missing.status).toBe(1);
    expectOneLineError(missing.stderr, /^headroom: nope\.hrc: cannot read/);
    expect(fs.readdirSync(scratch.dir)).toEqual(['notes.txt']);
  });

  it('a truncated capture warns and still gets its report', async () => {
    const capture = hostileCapture({ end: false });
    const result = await runCli(['report', capture, '-o', 'cut.html'], { cwd: scratch.dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^headroom: warning: capture is truncated/);
    expect(result.stderr).toMatch(/headroom: report written to cut\.html\n$/);
    const text = fs.readFileSync(path.join(scratch.dir, 'cut.html'), 'utf8');
    expect(text).toContain('"truncated":true');
  });
});

describe('headroom run --report', () => {
  it('writes the report after the job and keeps its exit status', async () => {
    const result = await runCli(
      ['run', '--quiet', '-o', 'c.hrc', '--report', 'r.html', '--', 'sh', '-c', 'exit 3'],
      { cwd: scratch.dir },
    );
    expect(result.status).toBe(3);
    expect(result.stderr).toBe('');
    expect(embeddedCommand(fs.readFileSync(path.join(scratch.dir, 'r.html'), 'utf8'))).toEqual([
      'sh',
      '-c',
      'exit 3',
    ]);
  });

  it('says where it wrote the report', async () => {
    const result = await runCli(['run', '-o', 'c.hrc', '--report', 'r.html', '--', 'true'], {
      cwd: scratch.dir,
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/headroom: report written to r\.html\n$/);
  });

  it('a report it cannot write is a warning, not a different exit status', async () => {
    const result = await runCli(
      ['run', '--quiet', '-o', 'c.hrc', '--report', 'no/such/r.html', '--', 'sh', '-c', 'exit 4'],
      { cwd: scratch.dir },
    );
    expect(result.status).toBe(4);
    expectOneLineError(
      result.stderr,
      /^headroom: warning: cannot write the report no\/such\/r\.html: no such directory$/,
    );
    expect(fs.existsSync(path.join(scratch.dir, 'c.hrc'))).toBe(true);
  });
});
