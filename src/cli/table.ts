import type { Command } from 'commander';
import { PROFILE_TIME_HELP } from '../profile/profile-time.js';
import { badOption } from './bad-option.js';
import { loadProfileView, parseAtOption } from './profile-capture.js';

interface TableFlags {
  at: string;
  by: string;
  limit: string;
  json?: boolean;
}

export function tableCommand(program: Command): void {
  program
    .command('table')
    .description('top allocation sites of a profiled run: bytes, count, share, pids (at the peak by default)')
    .argument('<capture>', 'a capture file written by headroom run --profile')
    .option('--at <time>', PROFILE_TIME_HELP, 'peak')
    .option('--by <key>', 'rank by size or count', 'size')
    .option('-n, --limit <n>', 'how many sites to show, 0 for all', '20')
    .option('--json', 'print the table as JSON (stable; bytes and ms)')
    .action(async (file: string, flags: TableFlags) => {
      const at = parseAtOption(flags.at);
      if (flags.by !== 'size' && flags.by !== 'count') {
        throw badOption('--by', `unknown key "${flags.by}" (one of: size, count)`);
      }
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 0) {
        throw badOption('--limit', `"${flags.limit}" must be a whole number, 0 for all`);
      }
      const loaded = await loadProfileView(file, at);
      const { siteTable, renderSiteTable } = await import('../profile/profile-table.js');
      const table = siteTable(loaded.view, flags.by, limit);
      process.stdout.write(
        flags.json ? `${JSON.stringify({ at, ...table }, null, 2)}\n` : renderSiteTable(table, loaded.when),
      );
    });
}
