import type { Command } from 'commander';
import { HeadroomError, messageOf } from '../errors.js';
import type { MemoryCgroup } from '../kernel/index.js';
import type { CgroupMetrics } from '../serve/cgroup-metrics.js';
import { badOption } from './bad-option.js';
import { leanForTheLongRun } from './long-running.js';
import { parseSize } from './parse-size.js';
import { parseFilter, topCgroup } from './top-cgroup.js';

interface ExporterFlags {
  listen: string;
  depth: string;
  maxCgroups: string;
  filter?: string;
  cgroupRoot?: string;
  postmortems?: string;
  ringBudget: string;
  postmortemsMaxSize: string;
  postmortemsMaxFiles: string;
  postmortemsPerHour: string;
}

export function exporterCommand(program: Command): void {
  program
    .command('exporter')
    .alias('agent')
    .description(
      'serve Prometheus metrics of every memory cgroup on this host (in a container: its own); with --postmortems, also a post-mortem capture of every OOM kill',
    )
    .option('--listen <addr>', 'host:port to listen on (loopback by default)', '127.0.0.1:9464')
    .option('--depth <n>', 'how many levels below the top to export', '8')
    .option('--max-cgroups <n>', 'export at most this many cgroups, nearest the top first', '2000')
    .option('--filter <regex>', 'only cgroups whose path matches')
    .option(
      '--cgroup-root <dir>',
      "a cgroup hierarchy's directory to read instead of this process's (a host's, mounted into a pod)",
    )
    .option(
      '--postmortems <dir>',
      'keep a flight recorder of every cgroup and write a post-mortem capture to DIR for each OOM kill',
    )
    .option('--ring-budget <size>', "memory all the recorder's rings may take together", '32m')
    .option('--postmortems-max-size <size>', 'the post-mortems in DIR together; the oldest go first', '512m')
    .option('--postmortems-max-files <n>', 'post-mortems kept in DIR; the oldest go first', '1000')
    .option(
      '--postmortems-per-hour <n>',
      'post-mortems of one cgroup per hour; kills beyond are counted',
      '6',
    )
    .action(async (flags: ExporterFlags) => {
      const afterScrape = leanForTheLongRun();
      const { host, port } = parseListen(flags.listen);
      const maxDepth = wholeNumber(flags.depth, '--depth');
      const maxCount = wholeNumber(flags.maxCgroups, '--max-cgroups');
      const filter = parseFilter(flags.filter);
      const bounds = {
        ringBudget: parseSize(flags.ringBudget, '--ring-budget'),
        maxBytes: parseSize(flags.postmortemsMaxSize, '--postmortems-max-size'),
        maxFiles: wholeNumber(flags.postmortemsMaxFiles, '--postmortems-max-files'),
        perCgroupPerHour: wholeNumber(flags.postmortemsPerHour, '--postmortems-per-hour'),
      };
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
      const recording = flags.postmortems
        ? await startRecorder(flags.postmortems, { top, filter, maxDepth, maxCount, ...bounds }, metrics)
        : undefined;
      let exporter: Awaited<ReturnType<typeof startExporter>>;
      try {
        exporter = await startExporter(metrics, host, port, afterScrape, recording?.routes);
      } catch (error) {
        recording?.recorder.stop();
        const errno = (error as NodeJS.ErrnoException).code;
        throw new HeadroomError('E_LISTEN', `cannot listen on ${flags.listen}: ${listenProblem(error)}`, {
          ...(errno ? { errno } : {}),
        });
      }
      const base = `http://${exporter.address.host}:${exporter.address.port}`;
      process.stderr.write(`headroom: exporting memory cgroups below ${top.path} at ${base}/metrics\n`);
      if (recording) {
        process.stderr.write(
          `headroom: recording every cgroup; post-mortems of OOM kills go to ${recording.dir}, listed at ${base}/postmortems\n`,
        );
      }
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
      });
      recording?.recorder.stop();
      await exporter.close();
    });
}

/** Starts the flight recorder and its routes; throws a one-line error when DIR cannot be used. */
async function startRecorder(
  dir: string,
  options: {
    top: MemoryCgroup;
    filter: RegExp | undefined;
    maxDepth: number;
    maxCount: number;
    ringBudget: number;
    maxBytes: number;
    maxFiles: number;
    perCgroupPerHour: number;
  },
  metrics: CgroupMetrics,
) {
  const [
    { FlightRecorder },
    { PostmortemStore },
    { postmortemRoutes },
    { registerRecorderMetrics },
    kernel,
    { readCapture },
    { summarize },
    { renderHtmlReport },
  ] = await Promise.all([
    import('../serve/flight-recorder.js'),
    import('../serve/postmortem-store.js'),
    import('../serve/postmortem-routes.js'),
    import('../serve/recorder-metrics.js'),
    import('../kernel/index.js'),
    import('../record/capture-reader.js'),
    import('../analyze/summarize.js'),
    import('../report/html/html-report.js'),
  ]);
  let store: InstanceType<typeof PostmortemStore>;
  try {
    store = new PostmortemStore({
      dir,
      maxBytes: options.maxBytes,
      maxFiles: options.maxFiles,
      perCgroupPerHour: options.perCgroupPerHour,
    });
  } catch (error) {
    throw new HeadroomError('E_OUTPUT_WRITE', `--postmortems ${dir}: ${kernel.describeErrno(error)}`, {
      path: dir,
    });
  }
  const recorder = new FlightRecorder({
    top: options.top,
    host: kernel.hostPaths(),
    store,
    ...(options.filter ? { filter: options.filter } : {}),
    maxDepth: options.maxDepth,
    maxCount: options.maxCount,
    ringBudget: options.ringBudget,
    note: (line) => process.stderr.write(`headroom: ${line}\n`),
  });
  registerRecorderMetrics(metrics.registry, recorder);
  recorder.start();
  // A post-mortem's HTML report, as `headroom report` writes it (secrets redacted).
  const renderReport = (file: string): string => {
    const capture = readCapture(file);
    return renderHtmlReport(capture, summarize(capture));
  };
  const routes = postmortemRoutes(store, { renderReport });
  return { recorder, routes, dir: store.dir };
}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the address is in use',
  EADDRNOTAVAIL: 'no such address on this host',
  EACCES: 'permission denied',
};

function listenProblem(error: unknown): string {
  const errno = (error as NodeJS.ErrnoException).code;
  return (errno && LISTEN_PROBLEMS[errno]) || messageOf(error);
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
