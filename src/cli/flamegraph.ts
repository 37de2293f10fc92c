import type { Command } from 'commander';
import { HeadroomError } from '../errors.js';
import { PROFILE_TIME_HELP } from '../profile/profile-time.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import { loadProfileCapture, parseAtOption, warnPastEnd } from './profile-capture.js';
import { writeFileWhole } from './write-output.js';

interface FlamegraphFlags {
  output?: string;
  at: string;
  force?: boolean;
  redact: boolean;
}

export function flamegraphCommand(program: Command): void {
  program
    .command('flamegraph')
    .description('write one offline HTML flame graph of the allocation profile, with a time slider')
    .argument('<capture>', 'a capture written by headroom run --profile')
    .option('-o, --output <file>', 'the HTML file (default: the capture with .flamegraph.html appended)')
    .option('--at <time>', `the time shown first: ${PROFILE_TIME_HELP}`, 'peak')
    .option('--force', 'replace the output file if it exists')
    .option('--no-redact', 'keep passwords, tokens and URL credentials in command lines (for your own runs)')
    .action(async (file: string, flags: FlamegraphFlags) => {
      const at = parseAtOption(flags.at);
      const [{ renderFlamegraphHtml }, { flameJoinLine }, { summarize }, capture] = await Promise.all([
        import('../report/html/flamegraph-page.js'),
        import('../report/html/flamegraph-data.js'),
        import('../analyze/summarize.js'),
        loadProfileCapture(file),
      ]);
      warnPastEnd(capture, at);
      const html = renderFlamegraphHtml(capture, at, flameJoinLine(summarize(capture)), {
        redact: flags.redact,
      });
      // loadProfileCapture has made sure of a snapshot; a page without one would be an empty chart.
      if (html === undefined)
        throw new HeadroomError('E_NO_PROFILE', `${file}: no profile snapshot to draw`, { path: file });
      const output = flags.output ?? defaultFlamegraphPath(file);
      writeFileWhole(output, html, {
        capture: capture.file,
        force: flags.force === true,
        what: 'the flame graph',
      });
      process.stderr.write(`headroom: flame graph written to ${sanitizeForTerminal(output)}\n`);
    });
}

/** x.hrc -> x.hrc.flamegraph.html beside it. */
export function defaultFlamegraphPath(capture: string): string {
  return `${capture}.flamegraph.html`;
}
