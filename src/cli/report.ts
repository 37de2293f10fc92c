import path from 'node:path';
import type { Command } from 'commander';
import type { Summary } from '../analyze/summarize.js';
import type { Capture } from '../record/capture-reader.js';
import type { HtmlReportOptions } from '../report/html/html-report.js';
import { loadCapture } from './load-capture.js';
import { writeFileWhole } from './write-output.js';

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML file: findings, memory over time, processes')
    .argument('<capture>', 'a capture file written by headroom run')
    .option('-o, --output <file>', 'the HTML file (default: the capture with .html for its extension)')
    .option('--no-redact', 'keep passwords, tokens and URL credentials in command lines (for your own runs)')
    .action(async (file: string, flags: { output?: string; redact: boolean }) => {
      const [{ summarize }, capture] = await Promise.all([
        import('../analyze/summarize.js'),
        loadCapture(file),
      ]);
      const output = flags.output ?? defaultReportPath(file);
      await writeHtmlReport(capture, summarize(capture), output, { redact: flags.redact });
      process.stderr.write(`headroom: report written to ${output}\n`);
    });
}

/** x.hrc -> x.html beside it; a capture already named .html gets .report.html. */
export function defaultReportPath(capture: string): string {
  const ext = path.extname(capture);
  const stem = ext ? capture.slice(0, -ext.length) : capture;
  return ext.toLowerCase() === '.html' ? `${stem}.report.html` : `${stem}.html`;
}

/**
 * Renders the report and writes it whole or not at all. An existing file is replaced: the report is older
 * than the profile views and `run --report` rewrites it on every run. A failure throws, in one line that
 * names the file.
 */
export async function writeHtmlReport(
  capture: Capture,
  summary: Summary,
  output: string,
  options: HtmlReportOptions = {},
): Promise<void> {
  const { renderHtmlReport } = await import('../report/html/html-report.js');
  const html = renderHtmlReport(capture, summary, options);
  writeFileWhole(output, html, { capture: capture.file, force: true, what: 'the report' });
}
