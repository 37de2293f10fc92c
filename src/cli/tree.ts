import type { Command } from 'commander';

/** headroom tree: being written (issue 4). */
export function treeCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('tree').description('(in progress)');
}
