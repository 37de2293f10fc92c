import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-present.js';
import { EXIT_HEADROOM_ERROR, EXIT_USAGE, HeadroomError } from '../errors.js';
import { KernelFileError } from '../kernel/errors.js';
import { TOOL_VERSION } from '../version.js';
import { SizeError } from './parse-size.js';

/** Adds one command to the program; `setStatus` sets what the CLI exits with. */
export type Register = (program: Command, setStatus: (code: number) => void) => void;

/** Command names and how to load each one's module, in `headroom --help` order. */
export type CommandTable = Record<string, () => Promise<Register>>;

/** Commands that run a job answer usage errors with 125, as docker run does. */
const RUNS_A_JOB = new Set(['run', 'supervise']);

/**
 * Parses argv (without node and script) and runs one of `commands`: the one named first, or all of them
 * registered for --help or an unknown word; resolves to the exit status.
 */
export async function runProgram(argv: string[], commands: CommandTable): Promise<number> {
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
  const asked = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? [argv[0]] : Object.keys(commands);
  for (const register of await Promise.all(asked.map((name) => commands[name]!()))) {
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
