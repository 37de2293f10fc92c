import path from 'node:path';
import type { Command } from 'commander';
import type { Summary } from '../analyze/summarize.js';
import { isHeadroomError, messageOf } from '../errors.js';
import type { Capture } from '../record/capture-reader.js';
import type { RunResult } from '../run/run.js';
import { JOB_OPTIONS, type JobFlags, parseJobFlags } from './job-flags.js';
import { setOptimizingCompilers } from './optimizing-compilers.js';
import { declareOptions, type OptionSpec } from './option-spec.js';
import type { Outcome } from './settle.js';

/** run's flags, as commander or parsePlainOptions hands them over. */
export interface RunFlags extends JobFlags {
  output?: string;
  report?: string;
}

/** run's options, in help order: its own, then those of every command that runs a job. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '-o, --output <file>',
    description: 'capture file (default: a new file under $HEADROOM_HOME or .headroom/)',
  },
  { flags: '--report <file>', description: 'after the job, write an HTML report of its memory to this file' },
  ...JOB_OPTIONS,
];

export function runCommand(program: Command, outcome: Outcome): void {
  const command = program
    .command('run')
    .description('run a command in a memory cgroup of its own, record its memory, and say what filled it')
    .usage('[options] -- COMMAND [ARGS...]')
    .argument('<command...>', 'the job and its arguments (everything after -- or the first operand)');
  declareOptions(command, RUN_OPTIONS)
    .passThroughOptions()
    .action((words: string[], flags: RunFlags) => runJob(words, flags, outcome));
}

/** `headroom run`'s action: `words` are the job and its arguments. */
export async function runJob(words: string[], flags: RunFlags, outcome: Outcome): Promise<void> {
  const options = await parseJobFlags(flags);
  const [job, ...args] = words;
  const { run } = await import('../run/run.js');
  // HEADROOM_SYSROOT: a tree standing in for /proc and /sys, as for limits, top and the exporter.
  const sysroot = process.env.HEADROOM_SYSROOT;
  const host = sysroot ? (await import('../kernel/host-paths.js')).hostPaths(sysroot) : undefined;
  const lean = leanOnceStarted();
  let result: RunResult;
  try {
    result = await run({
      command: job ?? '',
      args,
      ...options,
      ...(host ? { host } : {}),
      ...(flags.output === undefined ? {} : { output: flags.output }),
      onJobStart: lean.start,
      onJobExit: lean.end,
    });
  } finally {
    lean.end();
  }
  outcome.jobStatus(result.status);
  // From here on nothing may change the job's status: headroom's own trouble is a warning.
  const quiet = flags.quiet ?? false;
  if (quiet && flags.report === undefined) return;
  const summary = result.recorded ? await summarizeRun(result.recorded, result.capture, quiet) : null;
  if (flags.report === undefined) return;
  if (result.recorded && summary) await writeRunReport(result.recorded, summary, flags.report, quiet);
  else process.stderr.write(`headroom: warning: no report: the capture could not be read back\n`);
}

/**
 * How long after the job's start the optimizing compilers go off (setOptimizingCompilers). Not before
 * run's setup: a V8 flag change makes each built-in module loaded after it compile without Node's code
 * cache, and the setup loads several (about 6 ms of CPU of `run -- true`). Not at the job's start
 * either: loading node:v8 then fell within a short job's run and lengthened it (about 2 ms of `run --
 * true`, side by side), while a job that ends this soon never needs it. And not much later: sampling a
 * hundred processes makes the process tracker hot within the first 100 ms, and TurboFan then pages in
 * about 4 MiB of its code for the rest of the run (bench self: VmRSS 53 MiB against 49 with a 100 ms
 * wait). This is before the second sample (at 20 ms), so only the first runs with them on.
 */
const LEAN_AFTER_MS = 10;

/** `start` turns the optimizing compilers off LEAN_AFTER_MS later; `end` puts them back (or cancels). */
function leanOnceStarted(): { start: () => void; end: () => void } {
  let lean = false;
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      timer ??= setTimeout(() => {
        setOptimizingCompilers(false);
        lean = true;
      }, LEAN_AFTER_MS);
    },
    end() {
      clearTimeout(timer);
      if (lean) setOptimizingCompilers(true);
      lean = false;
    },
  };
}

/** The summary of a finished run, printed unless quiet; null, with a warning, when it cannot be made. */
async function summarizeRun(recorded: Capture, capture: string, quiet: boolean): Promise<Summary | null> {
  try {
    // Loaded only now, as the capture reader: a short job's start needs neither.
    const [{ summarize }, { renderSummaryText }] = await Promise.all([
      import('../analyze/summarize.js'),
      import('../report/summary-text.js'),
    ]);
    const summary = summarize(recorded);
    if (!quiet)
      process.stderr.write(
        renderSummaryText(summary, { capturePath: path.relative(process.cwd(), capture) || capture }),
      );
    return summary;
  } catch (error) {
    const message = messageOf(error);
    process.stderr.write(`headroom: warning: no summary: ${message}\n`);
    return null;
  }
}

/**
 * The HTML report of a finished run. Whatever goes wrong here is a one-line warning: the job's exit
 * status stays what it was.
 */
async function writeRunReport(
  recorded: Capture,
  summary: Summary,
  output: string,
  quiet: boolean,
): Promise<void> {
  try {
    const { writeHtmlReport } = await import('./report.js');
    await writeHtmlReport(recorded, summary, output);
    if (!quiet) process.stderr.write(`headroom: report written to ${output}\n`);
  } catch (error) {
    if (isHeadroomError(error, 'E_OUTPUT_EXISTS', 'E_OUTPUT_WRITE')) {
      process.stderr.write(`headroom: warning: ${error.message}\n`);
      return;
    }
    const message = messageOf(error);
    process.stderr.write(`headroom: warning: cannot write the report ${output}: ${message.split('\n')[0]}\n`);
  }
}
