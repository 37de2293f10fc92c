import type { Command } from 'commander';

/** headroom table: being written (issue 4). */
export function tableCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('table').description('(in progress)');
}
