import type { Command } from 'commander';
import type { Outcome } from './settle.js';

export function limitsCommand(program: Command, outcome: Outcome): void {
  program
    .command('limits')
    .description('the memory limit this process is really under, where it comes from, and what uses it')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }) => {
      const [{ limits }, { hostPaths }, { renderLimitsText }] = await Promise.all([
        import('../analyze/limits.js'),
        import('../kernel/index.js'),
        import('../report/limits-text.js'),
      ]);
      const report = limits(hostPaths());
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderLimitsText(report));
      if (!report.available) outcome.failedAfterOutput(report.error);
    });
}
