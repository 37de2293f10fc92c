import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PROFILE_TIME_HELP, parseProfileTime } from '../profile/profile-time.js';
import { HeadroomError } from '../run/errors.js';
import { loadCapture } from './load-capture.js';

/** Bad input to a command that runs no job: a usage error. */
const EXIT_USAGE = 2;

export function flamegraphCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('flamegraph')
    .description('write one offline HTML flame graph of the allocation profile, with a time slider')
    .argument('<capture>', 'a capture written by headroom run --profile')
    .option('-o, --output <file>', 'the HTML file (default: the capture with .flamegraph.html appended)')
    .option('--at <time>', `the time shown first: ${PROFILE_TIME_HELP}`, 'peak')
    .action(async (file: string, flags: { output?: string; at: string }) => {
      const at = parseProfileTime(flags.at);
      if (at === undefined)
        throw new HeadroomError(`--at: "${flags.at}" is not a time: ${PROFILE_TIME_HELP}`, EXIT_USAGE);
      const [{ renderFlamegraphHtml }, { flameJoinLine }, { summarize }, capture] = await Promise.all([
        import('../report/html/flamegraph-page.js'),
        import('../report/html/flamegraph-data.js'),
        import('../analyze/summarize.js'),
        loadCapture(file, setStatus),
      ]);
      if (!capture) return;
      const html = capture.profiles.length
        ? renderFlamegraphHtml(capture, at, flameJoinLine(summarize(capture)))
        : undefined;
      if (html === undefined) {
        const why = capture.profiles.length
          ? 'its allocation profile has no snapshot (the profilers wrote none before the job ended)'
          : 'has no allocation profile (record one with headroom run --profile)';
        process.stderr.write(`headroom: ${file}: ${why}\n`);
        setStatus(1);
        return;
      }
      const output = flags.output ?? defaultFlamegraphPath(file);
      if (path.resolve(output) === path.resolve(file)) {
        throw new HeadroomError(`${output}: is the capture itself; pick another file for the flame graph`, 1);
      }
      writeWhole(output, html);
      process.stderr.write(`headroom: flame graph written to ${output}\n`);
    });
}

/** x.hrc -> x.hrc.flamegraph.html beside it. */
export function defaultFlamegraphPath(capture: string): string {
  return `${capture}.flamegraph.html`;
}

/** Whole or not at all: a temporary file renamed into place; a failure is one line naming the file. */
function writeWhole(output: string, html: string): void {
  const temporary = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, html);
    fs.renameSync(temporary, output);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
    const reason =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'no such directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : error instanceof Error
              ? (error.message.split('\n')[0] ?? code)
              : String(error);
    throw new HeadroomError(`cannot write the flame graph ${output}: ${reason}`, 1);
  }
}
