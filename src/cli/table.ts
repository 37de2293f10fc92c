import type { Command } from 'commander';
import { formatDuration } from '../format.js';
import type { ProfileTime } from '../profile/profile-at.js';
import { PROFILE_TIME_HELP, parseProfileTime } from '../profile/profile-time.js';
import type { Capture } from '../record/capture-reader.js';
import { loadCapture } from './load-capture.js';
import { SizeError } from './parse-size.js';

interface TableFlags {
  at: string;
  by: string;
  limit: string;
  json?: boolean;
}

export function tableCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('table')
    .description('top allocation sites of a profiled run: bytes, count, share, pids (at the peak by default)')
    .argument('<capture>', 'a capture file written by headroom run --profile')
    .option('--at <time>', PROFILE_TIME_HELP, 'peak')
    .option('--by <key>', 'rank by size or count', 'size')
    .option('-n, --limit <n>', 'how many sites to show, 0 for all', '20')
    .option('--json', 'print the table as JSON (stable; bytes and ms)')
    .action(async (file: string, flags: TableFlags) => {
      const at = parseAtOption(flags.at);
      if (flags.by !== 'size' && flags.by !== 'count') {
        throw new SizeError(`--by: unknown key "${flags.by}" (one of: size, count)`);
      }
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 0) {
        throw new SizeError(`--limit: "${flags.limit}" must be a whole number, 0 for all`);
      }
      const capture = await loadProfileCapture(file, setStatus);
      if (!capture) return;
      const [{ profileAt }, { siteTable, renderSiteTable }, { describeProfileTime }] = await Promise.all([
        import('../profile/profile-at.js'),
        import('../profile/profile-table.js'),
        import('../profile/profile-time.js'),
      ]);
      warnPastEnd(capture, at);
      const view = profileAt(capture, at);
      const table = siteTable(view, flags.by, limit);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ at, ...table }, null, 2)}\n`
          : renderSiteTable(table, describeProfileTime(at, view.timeMs)),
      );
    });
}

/** --at as the profile views take it; a bad one is a usage error. */
export function parseAtOption(text: string): ProfileTime {
  const at = parseProfileTime(text);
  if (at === undefined) throw new SizeError(`--at: "${text}" is not a time (${PROFILE_TIME_HELP})`);
  return at;
}

/** A time after the capture's last record shows nothing: say why rather than print an empty view. */
export function warnPastEnd(capture: Capture, at: ProfileTime): void {
  if (typeof at !== 'number' || at <= capture.lastTimeMs) return;
  process.stderr.write(
    `headroom: warning: --at ${formatDuration(at)} is after the end of the capture ` +
      `(${formatDuration(capture.lastTimeMs)}); nothing was running then\n`,
  );
}

/**
 * Reads a capture for a profile view, or says in one line why there is nothing to show and sets exit
 * status 1: no profile records at all, or (unless `anySnapshot` is false) profilers that never wrote a
 * snapshot. The reader's warnings go to stderr first, as for every capture-reading command.
 */
export async function loadProfileCapture(
  file: string,
  setStatus: (code: number) => void,
  anySnapshot = true,
): Promise<Capture | undefined> {
  const capture = await loadCapture(file, setStatus);
  if (!capture) return undefined;
  const { noProfileReason } = await import('../profile/profile-capture.js');
  const reason = noProfileReason(capture, file, anySnapshot);
  if (reason === undefined) return capture;
  process.stderr.write(`headroom: ${reason}\n`);
  setStatus(1);
  return undefined;
}
