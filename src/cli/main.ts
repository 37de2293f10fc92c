import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-present.js';
import { EXIT_HEADROOM_ERROR, HeadroomError } from '../errors.js';
import { KernelFileError } from '../kernel/index.js';
import { TOOL_VERSION } from '../version.js';
import { attachCommand } from './attach.js';
import { exportCommand } from './export.js';
import { exporterCommand } from './exporter.js';
import { flamegraphCommand } from './flamegraph.js';
import { limitsCommand } from './limits.js';
import { liveCommand } from './live.js';
import { SizeError } from './parse-size.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { statsCommand } from './stats.js';
import { summaryCommand } from './summary.js';
import { superviseCommand } from './supervise.js';
import { tableCommand } from './table.js';
import { topCommand } from './top.js';
import { treeCommand } from './tree.js';

/** Commands that run a job answer usage errors with 125, as docker run does. */
const RUNS_A_JOB = new Set(['run', 'supervise']);
/** Usage errors of the other commands. */
const EXIT_USAGE = 2;

/** Parses argv (without node and script) and runs one command; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const setStatus = (code: number): void => {
    status = code;
  };
  const program = new Command('headroom')
    .description("Run jobs under memory observation and explain what filled their container's memory")
    .version(TOOL_VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // One line, in headroom's voice: "headroom: unknown option '--x' (see headroom --help)".
      outputError: (text, write) =>
        write(`headroom: ${text.trim().replace(/^error: /, '')} (see headroom --help)\n`),
    });
  limitsCommand(program, setStatus);
  runCommand(program, setStatus);
  summaryCommand(program, setStatus);
  superviseCommand(program, setStatus);
  exporterCommand(program, setStatus);
  topCommand(program, setStatus);
  liveCommand(program, setStatus);
  reportCommand(program, setStatus);
  flamegraphCommand(program, setStatus);
  tableCommand(program, setStatus);
  treeCommand(program, setStatus);
  statsCommand(program, setStatus);
  exportCommand(program, setStatus);
  attachCommand(program, setStatus);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'user' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      return RUNS_A_JOB.has(argv[0] ?? '') ? EXIT_HEADROOM_ERROR : EXIT_USAGE;
    }
    if (error instanceof HeadroomError) {
      process.stderr.write(`headroom: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof SizeError || error instanceof ConfigError) {
      process.stderr.write(`headroom: ${error.message}\n`);
      return RUNS_A_JOB.has(argv[0] ?? '') ? EXIT_HEADROOM_ERROR : EXIT_USAGE;
    }
    if (error instanceof KernelFileError) {
      process.stderr.write(`headroom: ${error.message}\n`);
      return EXIT_HEADROOM_ERROR;
    }
    process.stderr.write(
      `headroom: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_HEADROOM_ERROR;
  }
}
