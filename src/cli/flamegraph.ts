import type { Command } from 'commander';

/** headroom flamegraph: being written (issue 4). */
export function flamegraphCommand(program: Command, _setStatus: (code: number) => void): void {
  program.command('flamegraph').description('(in progress)');
}
