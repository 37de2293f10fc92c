// deploy/Dockerfile's build stage replayed on this host, its COPY and RUN steps in order in an empty
// directory: npm ci and npm run build:exe get only the files the stage copies in, so a file the build
// comes to need that the stage does not copy fails here, not in the first docker build after it. The
// host's Node and Debian packages stand in for node:20-bookworm-slim's.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDockerfile } from '../helpers/dockerfile.js';
import { REPO_ROOT } from './chroot.mjs';

// Named as chroot.mjs names its sandboxes, so that one left by a killed run is removed by the next.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hrexe-${process.pid}-stage-`));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sh(
  command: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(deadline);
      resolve({ status, output });
    });
  });
}

describe("deploy/Dockerfile's build stage", () => {
  it('builds the executable the bin stage copies from the files it copies in alone', async () => {
    const { stages } = parseDockerfile(fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8'));
    const build = stages.find((stage) => stage.name === 'build');
    if (!build?.workdir) throw new Error('deploy/Dockerfile has no build stage with a WORKDIR');
    const workdir = build.workdir;
    for (const step of build.steps) {
      if (step.kind === 'COPY') {
        expect(step.from, 'the build stage copies from the build context only').toBeUndefined();
        const dest = path.join(dir, path.resolve(workdir, step.dest).slice(workdir.length));
        for (const source of step.sources) {
          const from = path.join(REPO_ROOT, source);
          const into =
            step.dest.endsWith('/') || step.sources.length > 1
              ? path.join(dest, path.basename(source))
              : dest;
          fs.mkdirSync(path.dirname(into), { recursive: true });
          fs.cpSync(from, into, { recursive: true });
        }
      } else if (!/^apt-get\b/.test(step.command)) {
        // apt-get installs the base image's Debian packages: this host has its own.
        const run = await sh(step.command, dir, 240_000);
        expect(run.status, `RUN ${step.command}\n${run.output.slice(-4000)}`).toBe(0);
      }
    }
    const bin = stages.find((stage) => stage.name === 'bin');
    const copied = bin?.copies.find((copy) => copy.from === 'build');
    if (!copied?.source.startsWith(`${workdir}/`)) {
      throw new Error(`the bin stage copies ${copied?.source}, not a file of the build stage's ${workdir}`);
    }
    const exe = path.join(dir, copied.source.slice(workdir.length));
    const version = await sh(`'${exe}' --version`, dir, 30_000);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.output.trim()).toBe(pkg.version);
  }, 300_000);
});
