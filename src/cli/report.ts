import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Summary } from '../analyze/summarize.js';
import type { Capture } from '../record/capture-reader.js';
import { loadCapture } from './load-capture.js';

export function reportCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('report')
    .description('write one self-contained HTML file: findings, memory over time, processes')
    .argument('<capture>', 'a capture file written by headroom run')
    .option('-o, --output <file>', 'the HTML file (default: the capture with .html for its extension)')
    .action(async (file: string, flags: { output?: string }) => {
      const [{ summarize }, capture] = await Promise.all([
        import('../analyze/summarize.js'),
        loadCapture(file, setStatus),
      ]);
      if (!capture) return;
      const output = flags.output ?? defaultReportPath(file);
      const written = await writeHtmlReport(capture, summarize(capture), output);
      if (written.ok) {
        process.stderr.write(`headroom: report written to ${output}\n`);
      } else {
        process.stderr.write(`headroom: ${written.reason}\n`);
        setStatus(1);
      }
    });
}

/** x.hrc -> x.html beside it; a capture already named .html gets .report.html. */
export function defaultReportPath(capture: string): string {
  const ext = path.extname(capture);
  const stem = ext ? capture.slice(0, -ext.length) : capture;
  return ext.toLowerCase() === '.html' ? `${stem}.report.html` : `${stem}.html`;
}

/**
 * Renders the report and writes it whole or not at all (a temporary file renamed into place). The reason
 * is one line that names the file.
 */
export async function writeHtmlReport(
  capture: Capture,
  summary: Summary,
  output: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { renderHtmlReport } = await import('../report/html/html-report.js');
  const html = renderHtmlReport(capture, summary);
  if (path.resolve(output) === path.resolve(capture.file)) {
    return { ok: false, reason: `${output}: is the capture itself; pick another file for the report` };
  }
  const temporary = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, html);
    fs.renameSync(temporary, output);
    return { ok: true };
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    return { ok: false, reason: `cannot write the report ${output}: ${describeWriteError(error)}` };
  }
}

function describeWriteError(error: unknown): string {
  const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return error instanceof Error ? error.message.split('\n')[0] || String(code) : String(error);
  }
}
