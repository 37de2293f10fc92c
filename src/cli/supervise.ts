import type { Command } from 'commander';
import { badOption } from './bad-option.js';
import { addJobOptions, type JobFlags, parseJobFlags } from './job-flags.js';
import { setOptimizingCompilers } from './optimizing-compilers.js';
import { parseMemory } from './parse-size.js';
import type { Outcome } from './settle.js';

interface SuperviseFlags extends JobFlags {
  restartAbove?: string;
  restartBefore?: string;
  maxRestarts: string;
  backoff: string;
}

export function superviseCommand(program: Command, outcome: Outcome): void {
  const command = program
    .command('supervise')
    .description(
      'keep a service alive: restart it gracefully when its memory, as the kernel counts it, crosses a threshold or is about to reach the limit',
    )
    .usage('[options] -- COMMAND [ARGS...]')
    .argument('<command...>', 'the service and its arguments')
    .option(
      '--restart-above <size|percent>',
      'restart when the working set crosses this size (512m) or share of the limit (90%)',
    )
    .option(
      '--restart-before <duration>',
      'restart when the trend reaches the limit within this long (30s, 5m)',
    )
    .option('--max-restarts <n>', 'give up after this many restarts', '10')
    .option(
      '--backoff <duration>',
      'wait before the first restart; doubles while generations die young',
      '1s',
    );
  addJobOptions(command).action(async (words: string[], flags: SuperviseFlags) => {
    const options = await parseJobFlags(flags);
    const restartAbove = flags.restartAbove === undefined ? undefined : parseThreshold(flags.restartAbove);
    const restartBeforeMs =
      flags.restartBefore === undefined ? undefined : parseDuration(flags.restartBefore, '--restart-before');
    const maxRestarts = Number(flags.maxRestarts);
    if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
      throw badOption('--max-restarts', `"${flags.maxRestarts}" must be a whole number, 0 or more`);
    }
    const backoffMs = parseDuration(flags.backoff, '--backoff');
    const [job, ...args] = words;
    // Before the import: loading run's modules calls esbuild's __copyProps often enough that TurboFan
    // would compile it, which pages in about 4 MiB of V8's compiler code for the whole run.
    setOptimizingCompilers(false);
    const { supervise } = await import('../run/supervise.js');
    const result = await supervise({
      command: job ?? '',
      args,
      ...options,
      ...(restartAbove === undefined ? {} : { restartAbove }),
      ...(restartBeforeMs === undefined ? {} : { restartBeforeMs }),
      maxRestarts,
      backoffMs,
      // Each generation's summary would bury the restart lines: one line per restart says it all.
      quiet: true,
      log: (line) => {
        if (!flags.quiet) process.stderr.write(`headroom supervise: ${line}\n`);
      },
    });
    outcome.jobStatus(result.status);
  });
}

/** "512m" (a size, as --memory) or "90%" (a share of the limit). */
function parseThreshold(text: string): { bytes: number } | { share: number } {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent) {
    const share = Number(percent[1]) / 100;
    if (share <= 0 || share > 1)
      throw badOption('--restart-above', `"${text}" must be a percentage from 1 to 100`);
    return { share };
  }
  try {
    return { bytes: parseMemory(text) };
  } catch {
    throw badOption(
      '--restart-above',
      `"${text}" is neither a size (512m, 2g) nor a percentage of the limit (90%)`,
    );
  }
}

/** "500ms", "30s", "5m", "1h". */
function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw badOption(option, `"${text}" is not a duration (500ms, 30s, 5m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
