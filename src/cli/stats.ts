import type { Command } from 'commander';
import { loadProfileCapture } from './profile-capture.js';

export function statsCommand(program: Command): void {
  program
    .command('stats')
    .description(
      'the allocation profile of a run: each profiled process, sizes at the peak, top sites by size and by count, notes',
    )
    .argument('<capture>', 'a capture file written by headroom run --profile')
    .option('--json', 'print the statistics as JSON (stable; bytes and ms)')
    .action(async (file: string, flags: { json?: boolean }) => {
      // Without a snapshot the processes and the profilers' notes (a refused snapshot) still say why.
      const capture = await loadProfileCapture(file, false);
      const { profileStats, renderProfileStats } = await import('../profile/profile-stats.js');
      const stats = profileStats(capture);
      process.stdout.write(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : renderProfileStats(stats));
    });
}
