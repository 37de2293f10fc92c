import type { Command } from 'commander';

/** headroom stats: being written (issue 4). */
export function statsCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('stats').description('(in progress)');
}
