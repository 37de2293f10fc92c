import type { Command } from 'commander';
import { limits } from '../analyze/limits.js';
import { hostPaths } from '../kernel/index.js';
import { renderLimitsText } from '../report/limits-text.js';

export function limitsCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('limits')
    .description('the memory limit this process is really under, where it comes from, and what uses it')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }) => {
      const report = limits(hostPaths());
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderLimitsText(report));
      setStatus(report.available ? 0 : 1);
    });
}
