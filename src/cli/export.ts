import path from 'node:path';
import type { Command } from 'commander';
import { HeadroomError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { ProcessPart } from '../profile/profile-at.js';
import { PROFILE_TIME_HELP } from '../profile/profile-time.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import { TOOL_VERSION } from '../version.js';
import { badOption } from './bad-option.js';
import { loadProfileView, parseAtOption } from './profile-capture.js';
import { writeFileWhole } from './write-output.js';

const FORMATS = ['speedscope', 'heapprofile'] as const;
type ExportFormat = (typeof FORMATS)[number];

const EXTENSIONS: Record<ExportFormat, string> = {
  speedscope: '.speedscope.json',
  heapprofile: '.heapprofile',
};

interface ExportFlags {
  format?: string;
  output?: string;
  at: string;
  pid?: string;
  force?: boolean;
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'write the allocation profile for other tools: speedscope (every process) or a Chrome DevTools .heapprofile (one process)',
    )
    .argument('<capture>', 'a capture file written by headroom run --profile')
    .option('--format <format>', 'speedscope or heapprofile')
    .option(
      '-o, --output <file>',
      'the file to write, - for stdout (default: beside the capture, .speedscope.json or .heapprofile)',
    )
    .option('--at <time>', PROFILE_TIME_HELP, 'peak')
    .option('--pid <pid>', 'only this process (heapprofile: default the one holding the most)')
    .option('--force', 'replace the output file if it exists')
    .action(async (file: string, flags: ExportFlags) => {
      const format = flags.format;
      if (format === undefined)
        throw new HeadroomError('E_USAGE', '--format is required (speedscope or heapprofile)', {
          option: '--format',
        });
      if (!isFormat(format)) {
        throw badOption('--format', `unknown format "${format}" (one of: ${FORMATS.join(', ')})`);
      }
      const at = parseAtOption(flags.at);
      const pid = flags.pid === undefined ? undefined : Number(flags.pid);
      if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) {
        throw badOption('--pid', `"${flags.pid}" is not a process id`);
      }
      const loaded = await loadProfileView(file, at);
      const { capture, view, when } = loaded;
      const parts = pid === undefined ? view.parts : view.parts.filter((part) => part.pid === pid);
      if (parts.length === 0) {
        const profiled = view.parts.map((part) => part.pid).join(', ');
        throw new HeadroomError(
          'E_NO_PROFILE',
          pid === undefined || profiled === ''
            ? `no profiled process held memory ${when} in ${sanitizeForTerminal(file)} (try --at end)`
            : `pid ${pid} has no allocation profile ${when}; profiled then: ${profiled}`,
          pid === undefined ? { path: file } : { path: file, pid },
        );
      }
      const output = flags.output ?? defaultExportPath(file, format);
      let text: string;
      let what: string;
      let open: string;
      if (format === 'speedscope') {
        const { speedscopeFile } = await import('../profile/export-speedscope.js');
        const name = `headroom: ${capture.header.command.join(' ')} ${when}`;
        text = JSON.stringify(speedscopeFile({ ...view, parts }, name, `headroom ${TOOL_VERSION}`));
        const bytes = parts.reduce((sum, part) => sum + part.snapshot.totalBytes, 0);
        what = `speedscope profile of ${parts.length === 1 ? '1 process' : `${parts.length} processes`}, ${formatBytes(bytes)} ${when}`;
        open = 'open it at https://www.speedscope.app';
      } else {
        const { heapProfile } = await import('../profile/export-heapprofile.js');
        const part = largest(parts);
        text = JSON.stringify(heapProfile(part));
        const others = pid === undefined && view.parts.length > 1;
        what =
          `heap profile of ${sanitizeForTerminal(part.label)}, ${formatBytes(part.snapshot.totalBytes)} ${when}` +
          (others ? ` (the largest of ${view.parts.length} processes; --pid chooses another)` : '');
        open = "load it in Chrome DevTools' Memory panel";
      }
      if (output === '-') {
        process.stdout.write(`${text}\n`);
        process.stderr.write(`headroom: ${what}\n`);
        return;
      }
      writeFileWhole(output, `${text}\n`, { capture: capture.file, force: flags.force === true });
      process.stderr.write(`headroom: ${what}, written to ${sanitizeForTerminal(output)}; ${open}\n`);
    });
}

/** x.hrc -> x.speedscope.json or x.heapprofile beside it. */
export function defaultExportPath(capture: string, format: ExportFormat): string {
  const ext = path.extname(capture);
  const stem = ext ? capture.slice(0, -ext.length) : capture;
  return `${stem}${EXTENSIONS[format]}`;
}

function isFormat(text: string): text is ExportFormat {
  return (FORMATS as readonly string[]).includes(text);
}

function largest(parts: readonly ProcessPart[]): ProcessPart {
  let best = parts[0] as ProcessPart;
  for (const part of parts) if (part.snapshot.totalBytes > best.snapshot.totalBytes) best = part;
  return best;
}
