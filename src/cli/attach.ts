import type { Command } from 'commander';

/** headroom attach: being written (issue 4). */
export function attachCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('attach').description('(in progress)');
}
