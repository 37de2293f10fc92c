import { Command, CommanderError } from 'commander';
import { HeadroomError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { errorStatus } from './error-status.js';

/**
 * What a command's action tells the program besides what it throws. A failure is thrown as a
 * HeadroomError; the program prints it and picks the exit status from its code.
 */
export interface Outcome {
  /** run and supervise: the job's own exit status is headroom's. */
  jobStatus(status: number): void;
  /**
   * A failure the command's output already shows (limits' report of a limit it could not find, with the
   * error in its JSON): the one stderr line and the exit status still follow from the code.
   */
  failedAfterOutput(error: HeadroomError): void;
}

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
  let status = 0;
  let failed: HeadroomError | undefined;
  const outcome: Outcome = {
    jobStatus: (code) => {
      status = code;
    },
    failedAfterOutput: (error) => {
      failed = error;
    },
  };
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
  const asked = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? [argv[0]] : Object.keys(commands);
  for (const register of await Promise.all(asked.map((name) => commands[name]!()))) {
    register(program, outcome);
  }
  for (const command of program.commands) command.exitOverride();
  let json = false;
  program.hook('preAction', (_program, action) => {
    json = action.opts().json === true;
  });
  const runsAJob = RUNS_A_JOB.has(argv[0] ?? '');

  try {
    await program.parseAsync(argv, { from: 'user' });
    if (!failed) return status;
    printError(failed, false);
    return errorStatus(failed.code, runsAJob);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      // Help printed for a missing command word says it all.
      if (usage === undefined) return errorStatus('E_USAGE', runsAJob);
      const failure = new HeadroomError('E_USAGE', `${usage} (see headroom --help)`);
      printError(failure, asksForJson(program, argv));
      return errorStatus(failure.code, runsAJob);
    }
    const failure =
      error instanceof HeadroomError
        ? error
        : new HeadroomError(
            'E_INTERNAL',
            `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
          );
    printError(failure, json);
    return errorStatus(failure.code, runsAJob);
  }
}

/**
 * One line on stderr, the stable code after the words: "headroom: PID must be a process id, not "x"
 * [E_USAGE]". With --json, the error also goes to stdout as {"error": {code, message, details}}.
 */
function printError(error: HeadroomError, json: boolean): void {
  const line = error.message.replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(`headroom: ${line} [${error.code}]\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error })}\n`);
}

/** Whether a command line that commander refused asked for --json of a command that has it. */
function asksForJson(program: Command, argv: string[]): boolean {
  const command = program.commands.find((candidate) => candidate.name() === argv[0]);
  if (!command?.options.some((option) => option.long === '--json')) return false;
  const end = argv.indexOf('--');
  return argv.slice(1, end === -1 ? undefined : end).includes('--json');
}
