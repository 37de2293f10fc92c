import type { Command } from 'commander';
import { loadCapture } from './load-capture.js';

export function summaryCommand(program: Command): void {
  program
    .command('summary')
    .description('peak, what filled it, top processes, OOM kills and limit hits of one capture')
    .argument('<capture>', 'a capture file written by headroom run')
    .option('--json', 'print the summary as JSON (stable; see README)')
    .action(async (file: string, flags: { json?: boolean }) => {
      const [{ summarize }, { renderSummaryText }, capture] = await Promise.all([
        import('../analyze/summarize.js'),
        import('../report/summary-text.js'),
        loadCapture(file),
      ]);
      const summary = summarize(capture);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(summary, null, 2)}\n`
          : renderSummaryText(summary, { capturePath: file }),
      );
    });
}
