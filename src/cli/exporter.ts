import type { Command } from 'commander';
import { HeadroomError } from '../errors.js';
import { badOption } from './bad-option.js';
import { leanForTheLongRun } from './long-running.js';
import { parseFilter, topCgroup } from './top-cgroup.js';

interface ExporterFlags {
  listen: string;
  depth: string;
  maxCgroups: string;
  filter?: string;
  cgroupRoot?: string;
}

export function exporterCommand(program: Command): void {
  program
    .command('exporter')
    .description('serve Prometheus metrics of every memory cgroup on this host (in a container: its own)')
    .option('--listen <addr>', 'host:port to listen on (loopback by default)', '127.0.0.1:9464')
    .option('--depth <n>', 'how many levels below the top to export', '8')
    .option('--max-cgroups <n>', 'export at most this many cgroups, nearest the top first', '2000')
    .option('--filter <regex>', 'only cgroups whose path matches')
    .option(
      '--cgroup-root <dir>',
      "a cgroup hierarchy's directory to read instead of this process's (a host's, mounted into a pod)",
    )
    .action(async (flags: ExporterFlags) => {
      const afterScrape = leanForTheLongRun();
      const { host, port } = parseListen(flags.listen);
      const maxDepth = wholeNumber(flags.depth, '--depth');
      const maxCount = wholeNumber(flags.maxCgroups, '--max-cgroups');
      const filter = parseFilter(flags.filter);
      const [{ CgroupMetrics }, { startExporter }, { hostPaths }] = await Promise.all([
        import('../serve/cgroup-metrics.js'),
        import('../serve/exporter.js'),
        import('../kernel/index.js'),
      ]);
      const top = await topCgroup(flags.cgroupRoot, 'export');
      const metrics = new CgroupMetrics({
        top,
        host: hostPaths(),
        maxDepth,
        maxCount,
        ...(filter ? { filter } : {}),
      });
      let exporter: Awaited<ReturnType<typeof startExporter>>;
      try {
        exporter = await startExporter(metrics, host, port, afterScrape);
      } catch (error) {
        const errno = (error as NodeJS.ErrnoException).code;
        throw new HeadroomError('E_LISTEN', `cannot listen on ${flags.listen}: ${listenProblem(error)}`, {
          ...(errno ? { errno } : {}),
        });
      }
      process.stderr.write(
        `headroom: exporting memory cgroups below ${top.path} at http://${exporter.address.host}:${exporter.address.port}/metrics\n`,
      );
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
      });
      await exporter.close();
    });
}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the address is in use',
  EADDRNOTAVAIL: 'no such address on this host',
  EACCES: 'permission denied',
};

function listenProblem(error: unknown): string {
  const errno = (error as NodeJS.ErrnoException).code;
  return (errno && LISTEN_PROBLEMS[errno]) || (error instanceof Error ? error.message : String(error));
}

/** "127.0.0.1:9464", ":9464" (loopback), "[::1]:9464", "0.0.0.0:9464". */
function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw badOption('--listen', `"${text}" is not host:port (127.0.0.1:9464)`);
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

function wholeNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw badOption(option, `"${text}" must be a whole number`);
  return value;
}
