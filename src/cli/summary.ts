import type { Command } from 'commander';

export function summaryCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('summary')
    .description('peak, what filled it, top processes, OOM kills and limit hits of one capture')
    .argument('<capture>', 'a capture file written by headroom run')
    .option('--json', 'print the summary as JSON (stable; see README)')
    .action(async (file: string, flags: { json?: boolean }) => {
      const [{ summarize }, { CaptureError, readCapture }, { renderSummaryText }] = await Promise.all([
        import('../analyze/summarize.js'),
        import('../record/capture-reader.js'),
        import('../report/summary-text.js'),
      ]);
      let capture: ReturnType<typeof readCapture>;
      try {
        capture = readCapture(file);
      } catch (error) {
        if (!(error instanceof CaptureError)) throw error;
        process.stderr.write(`headroom: ${error.message}\n`);
        setStatus(1);
        return;
      }
      const summary = summarize(capture);
      for (const warning of capture.warnings) process.stderr.write(`headroom: warning: ${warning}\n`);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(summary, null, 2)}\n`
          : renderSummaryText(summary, { capturePath: file }),
      );
    });
}
