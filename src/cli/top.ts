import type { Command } from 'commander';
import { badOption } from './bad-option.js';
import { interactive } from './screen.js';
import { parseFilter, topCgroup } from './top-cgroup.js';

interface TopFlags {
  once?: boolean;
  json?: boolean;
  interval: string;
  sort: string;
  flat?: boolean;
  filter?: string;
  cgroupRoot?: string;
  depth: string;
}

export function topCommand(program: Command): void {
  program
    .command('top')
    .description('live view of the memory cgroups on this host (in a container: its own), a row each')
    .option('--once', 'print one screen and exit')
    .option('--json', 'with --once: the rows as JSON')
    .option('--interval <seconds>', 'refresh interval', '1')
    .option('--sort <key>', 'usage, wset, anon, share, left or name', 'usage')
    .option('--flat', 'one list by the sort key instead of the tree')
    .option('--filter <regex>', 'only cgroups whose path matches')
    .option(
      '--cgroup-root <dir>',
      "a cgroup hierarchy's directory to read instead of this process's (a host's, mounted into a pod)",
    )
    .option('--depth <n>', 'how many levels below the top to show', '8')
    .action(async (flags: TopFlags) => {
      const [{ CgroupTable }, { renderTop, SORT_KEYS }, { hostPaths }] = await Promise.all([
        import('../serve/cgroup-table.js'),
        import('../report/top-view.js'),
        import('../kernel/index.js'),
      ]);
      const intervalMs = Number(flags.interval) * 1000;
      if (!Number.isFinite(intervalMs) || intervalMs < 100) {
        throw badOption('--interval', `"${flags.interval}" must be a number of seconds, 0.1 or more`);
      }
      const sortKeys: readonly string[] = SORT_KEYS;
      if (!sortKeys.includes(flags.sort)) {
        throw badOption('--sort', `unknown key "${flags.sort}" (one of: ${SORT_KEYS.join(', ')})`);
      }
      const maxDepth = Number(flags.depth);
      if (!Number.isInteger(maxDepth) || maxDepth < 0)
        throw badOption('--depth', `"${flags.depth}" must be a whole number`);
      const filter = parseFilter(flags.filter);
      const top = await topCgroup(flags.cgroupRoot, 'show');
      // Files kept open, and a full read (every cgroup, limits and counters, a fresh listing) every tenth
      // refresh: over 500 cgroups a full read costs about 40 ms, the rows on screen about 2.
      const table = new CgroupTable({
        top,
        host: hostPaths(),
        maxDepth,
        keepOpen: 1000,
        fullEvery: 10,
        ...(filter ? { filter } : {}),
      });
      let sort = flags.sort as (typeof SORT_KEYS)[number];
      let tree = !flags.flat;
      const view = () => ({
        sort,
        tree,
        width: process.stdout.columns || 120,
        // --once prints every row; a terminal that does not say its size gets a usual one.
        height: flags.once || !process.stdout.isTTY ? 100_000 : process.stdout.rows || 40,
        topPath: top.path,
        intervalMs,
      });
      // Between full reads, the rows the last screen showed are the ones read again.
      let shown: string[] = [];
      const screen = () =>
        renderTop(
          table.refresh(() => shown),
          view(),
          (paths) => {
            shown = paths;
          },
        );

      if (flags.once || !process.stdout.isTTY || !process.stdin.isTTY) {
        process.stdout.write(
          flags.json ? `${JSON.stringify(table.refresh(), null, 2)}\n` : `${screen().join('\n')}\n`,
        );
        return;
      }
      await interactive(screen, intervalMs, (key) => {
        if (key === 's') sort = SORT_KEYS[(SORT_KEYS.indexOf(sort) + 1) % SORT_KEYS.length] ?? 'usage';
        else if (key === 't') tree = !tree;
      });
    });
}
