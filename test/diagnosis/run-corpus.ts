// Runs every case of the diagnosis corpus for real, under the built CLI in real cgroups, and scores the
// verdicts: for corpus.test.ts and `npm run bench diagnosis` alike.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CASES, type CasePaths, type DiagnosisCase } from './cases.js';
import { makeParentCgroup, type ParentCgroup } from './parent-cgroup.js';
import { runHighs } from './run-highs.js';
import {
  type CaseResult,
  type CorpusScore,
  caseLines,
  failedCase,
  type ScoredSummary,
  scoreCase,
  scoreCorpus,
} from './score.js';

export interface CorpusOptions {
  /** The repository: bin/headroom.cjs and test/diagnosis/jobs are found from it. */
  root: string;
  cases?: DiagnosisCase[];
  /** Cases at once; each fills a 256 MiB cgroup and a core, and the machines that run this have two. */
  concurrency?: number;
  /** A case still running after this is stopped and counted wrong. */
  caseTimeoutMs?: number;
  /** Called as each case ends, with its line, and at the end with the score line. */
  log?: (line: string) => void;
}

export interface CorpusReport {
  results: CaseResult[];
  score: CorpusScore;
  /** One per case, in the table's order. */
  lines: string[];
  wallMs: number;
}

export async function runCorpus(options: CorpusOptions): Promise<CorpusReport> {
  const cases = options.cases ?? CASES;
  const concurrency = options.concurrency ?? 2;
  const started = performance.now();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-corpus-'));
  const context: RunContext = {
    root: options.root,
    scratch,
    python: realPython(),
    caseTimeoutMs: options.caseTimeoutMs ?? 120_000,
  };
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < cases.length; index = next++) {
      const spec = cases[index]!;
      const result = await runCase(spec, context);
      results[index] = result;
      const [line] = caseLines([result]);
      options.log?.(line ?? spec.name);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const score = scoreCorpus(results);
  const wallMs = performance.now() - started;
  options.log?.(`${score.line}, in ${(wallMs / 1000).toFixed(0)} s`);
  return { results, score, lines: caseLines(results), wallMs };
}

interface RunContext {
  root: string;
  scratch: string;
  python: string;
  caseTimeoutMs: number;
}

/**
 * The interpreter itself, not a version manager's shim: pyenv's python3 is a bash script that runs
 * helper shells before it execs, and those would be part of every Python job's process tree.
 */
function realPython(): string {
  const found = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const executable = found.stdout?.trim();
  if (found.status !== 0 || !executable)
    throw new Error(`python3 did not run: ${found.stderr ?? found.error}`);
  return executable;
}

async function runCase(spec: DiagnosisCase, context: RunContext): Promise<CaseResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const dir = fs.mkdtempSync(path.join(context.scratch, `${spec.name}-`));
  const paths: CasePaths = {
    python: context.python,
    node: process.execPath,
    job: (name) => path.join(context.root, 'test/diagnosis/jobs', name),
    input: path.join(dir, 'input.bin'),
    output: path.join(dir, 'output.bin'),
    shm: path.join('/dev/shm', `headroom-corpus-${process.pid}-${spec.name}`),
  };
  let parent: ParentCgroup | undefined;
  try {
    if (spec.inputMiB !== undefined) {
      const made = await exited(
        spawn(context.python, [paths.job('make-file.py'), paths.input, String(spec.inputMiB)], {
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
        context.caseTimeoutMs,
      );
      if (made.status !== 0) return failedCase(spec, `setup failed: ${lastLine(made.stderr)}`, elapsed());
    }
    const capture = path.join(dir, 'capture.hrc');
    const cli = path.join(context.root, 'bin/headroom.cjs');
    const headroom = [cli, 'run', '-q', '-o', capture, ...spec.headroomArgs, '--', ...spec.command(paths)];
    const env = { ...process.env, HEADROOM_HOME: path.join(dir, 'home') };
    let child: ChildProcess;
    if (spec.parentLimitBytes !== undefined) {
      parent = makeParentCgroup(`hrcorpus-${process.pid}-${spec.name}`, spec.parentLimitBytes);
      // headroom must start inside the parent, so that the cgroup it makes for the job lies below it.
      child = spawn(
        '/bin/sh',
        ['-c', 'echo $$ > "$0" && exec "$@"', parent.procsFile, process.execPath, ...headroom],
        {
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
    } else {
      child = spawn(process.execPath, headroom, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
    const run = await exited(child, context.caseTimeoutMs);
    if (run.timedOut) return failedCase(spec, `timed out after ${context.caseTimeoutMs / 1000} s`, elapsed());
    // headroom exits with the job's status, which is not 0 for most cases; only its own errors count here.
    if (run.status === 125 || !fs.existsSync(capture))
      return failedCase(spec, `headroom failed: ${lastLine(run.stderr)}`, elapsed());
    const summary = spawnSync(process.execPath, [cli, 'summary', '--json', capture], { encoding: 'utf8' });
    if (summary.status !== 0)
      return failedCase(spec, `summary failed: ${lastLine(summary.stderr)}`, elapsed());
    const scored: ScoredSummary = {
      ...(JSON.parse(summary.stdout) as Omit<ScoredSummary, 'highs'>),
      highs: runHighs(capture),
    };
    return scoreCase(spec, scored, elapsed());
  } catch (error) {
    return failedCase(spec, error instanceof Error ? error.message : String(error), elapsed());
  } finally {
    // tmpfs outlives every process: a file left on /dev/shm holds the host's memory until reboot.
    fs.rmSync(paths.shm, { force: true });
    if (parent && !parent.remove())
      process.stderr.write(`diagnosis corpus: could not remove ${spec.name}'s parent cgroup\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Exit {
  status: number | null;
  stderr: string;
  timedOut: boolean;
}

/** Waits for a process to end; past the deadline, SIGTERM (headroom forwards it to the job), then SIGKILL. */
function exited(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // The end says what went wrong; a job that prints without end must not fill the runner's memory.
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const term = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ status, stderr, timedOut });
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
