import { Command, CommanderError } from 'commander';
import { HeadroomError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { errorStatus } from './error-status.js';
import { type Outcome, printError, settle } from './settle.js';

/** Adds one command to the program. */
export type Register = (program: Command, outcome: Outcome) => void;

/** Command names and how to load each one's module, in `headroom --help` order. */
export type CommandTable = Record<string, () => Promise<Register>>;

/** Commands that run a job answer usage errors with 125, as docker run does. */
const RUNS_A_JOB = new Set(['run', 'supervise']);

/**
 * Parses argv (without node and script) and runs one of `commands`: the one named first, or all of them
 * registered for --help or an unknown word; resolves to the exit status.
 */
export async function runProgram(argv: string[], commands: CommandTable): Promise<number> {
  let usage: string | undefined;
  const program = new Command('headroom')
    .description("Run jobs under memory observation and explain what filled their container's memory")
    .version(TOOL_VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    // Commander's complaint becomes an E_USAGE error, printed as every other error is.
    .configureOutput({
      outputError: (text) => {
        usage = text.trim().replace(/^error: /, '');
      },
    });
  const runsAJob = RUNS_A_JOB.has(argv[0] ?? '');
  let json = false;
  return settle(
    async (outcome) => {
      const asked =
        argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? [argv[0]] : Object.keys(commands);
      for (const register of await Promise.all(asked.map((name) => commands[name]!()))) {
        register(program, outcome);
      }
      for (const command of program.commands) command.exitOverride();
      program.hook('preAction', (_program, action) => {
        json = action.opts().json === true;
      });
      await program.parseAsync(argv, { from: 'user' });
    },
    {
      runsAJob,
      json: () => json,
      parserError: (error) => {
        if (!(error instanceof CommanderError)) return undefined;
        if (error.exitCode === 0) return 0; // --help, --version
        // Help printed for a missing command word says it all.
        if (usage === undefined) return errorStatus('E_USAGE', runsAJob);
        const failure = new HeadroomError('E_USAGE', `${usage} (see headroom --help)`);
        printError(failure, asksForJson(program, argv));
        return errorStatus(failure.code, runsAJob);
      },
    },
  );
}

/** Whether a command line that commander refused asked for --json of a command that has it. */
function asksForJson(program: Command, argv: string[]): boolean {
  const command = program.commands.find((candidate) => candidate.name() === argv[0]);
  if (!command?.options.some((option) => option.long === '--json')) return false;
  const end = argv.indexOf('--');
  return argv.slice(1, end === -1 ? undefined : end).includes('--json');
}
