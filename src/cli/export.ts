import type { Command } from 'commander';

/** headroom export: being written (issue 4). */
export function exportCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('export').description('(in progress)');
}
