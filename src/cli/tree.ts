import type { Command } from 'commander';
import { PROFILE_TIME_HELP } from '../profile/profile-time.js';
import { badOption } from './bad-option.js';
import { loadProfileView, parseAtOption } from './profile-capture.js';

interface TreeFlags {
  at: string;
  minShare: string;
  maxDepth: string;
}

export function treeCommand(program: Command): void {
  program
    .command('tree')
    .description('the call tree of a profiled run as indented text, biggest first (at the peak by default)')
    .argument('<capture>', 'a capture file written by headroom run --profile')
    .option('--at <time>', PROFILE_TIME_HELP, 'peak')
    .option('--min-share <percent>', 'fold frames holding less than this share of all profiled bytes', '1')
    .option('--max-depth <n>', 'fold calls deeper than this many frames', '100')
    .action(async (file: string, flags: TreeFlags) => {
      const at = parseAtOption(flags.at);
      const percent = Number(flags.minShare.replace(/%$/, ''));
      if (flags.minShare.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
        throw badOption('--min-share', `"${flags.minShare}" must be a percentage from 0 to 100`);
      }
      const maxDepth = Number(flags.maxDepth);
      // Each level indents by three columns: past 1000 the text would grow with the square of the depth.
      if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 1000) {
        throw badOption('--max-depth', `"${flags.maxDepth}" must be a whole number from 1 to 1000`);
      }
      const loaded = await loadProfileView(file, at);
      const { renderProfileTree } = await import('../profile/profile-tree-text.js');
      process.stdout.write(
        renderProfileTree(loaded.view, loaded.when, { minShare: percent / 100, maxDepth }),
      );
    });
}
