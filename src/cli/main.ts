import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-present.js';
import { EXIT_HEADROOM_ERROR, HeadroomError } from '../errors.js';
import { KernelFileError } from '../kernel/errors.js';
import { TOOL_VERSION } from '../version.js';
import { SizeError } from './parse-size.js';

type Register = (program: Command, setStatus: (code: number) => void) => void;

/**
 * Each command's module, loaded only when that command is asked for (all of them for --help or an
 * unknown word): a short job pays for reading and compiling `run`, not the exporter, the HTML report
 * and the profile views. In `headroom --help` order.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  limits: async () => (await import('./limits.js')).limitsCommand,
  run: async () => (await import('./run.js')).runCommand,
  summary: async () => (await import('./summary.js')).summaryCommand,
  supervise: async () => (await import('./supervise.js')).superviseCommand,
  exporter: async () => (await import('./exporter.js')).exporterCommand,
  top: async () => (await import('./top.js')).topCommand,
  live: async () => (await import('./live.js')).liveCommand,
  report: async () => (await import('./report.js')).reportCommand,
  flamegraph: async () => (await import('./flamegraph.js')).flamegraphCommand,
  table: async () => (await import('./table.js')).tableCommand,
  tree: async () => (await import('./tree.js')).treeCommand,
  stats: async () => (await import('./stats.js')).statsCommand,
  export: async () => (await import('./export.js')).exportCommand,
  attach: async () => (await import('./attach.js')).attachCommand,
};

/** Commands that run a job answer usage errors with 125, as docker run does. */
const RUNS_A_JOB = new Set(['run', 'supervise']);
/** Usage errors of the other commands. */
const EXIT_USAGE = 2;

/** Whether `word` names one of headroom's commands. */
export function isCommand(word: string): boolean {
  return Object.hasOwn(COMMANDS, word);
}

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
  const asked = argv[0] !== undefined && isCommand(argv[0]) ? [argv[0]] : Object.keys(COMMANDS);
  for (const register of await Promise.all(asked.map((name) => COMMANDS[name]!()))) {
    register(program, setStatus);
  }
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
