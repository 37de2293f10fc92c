import { HeadroomError, messageOf } from '../errors.js';
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

export interface SettleOptions {
  /** Commands that run a job answer their own failures with 125, as docker run does. */
  runsAJob: boolean;
  /** Whether the command was asked for JSON, when it failed: the error then goes to stdout as JSON too. */
  json?: () => boolean;
  /** The exit status for an error of the command-line parser's own, undefined for any other error. */
  parserError?: (error: unknown) => number | undefined;
}

/** Runs a command's action and resolves to headroom's exit status, printing a failure as one line. */
export async function settle(
  action: (outcome: Outcome) => Promise<void>,
  { runsAJob, json = () => false, parserError }: SettleOptions,
): Promise<number> {
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
  try {
    await action(outcome);
  } catch (error) {
    const parsed = parserError?.(error);
    if (parsed !== undefined) return parsed;
    const failure =
      error instanceof HeadroomError
        ? error
        : new HeadroomError('E_INTERNAL', `unexpected error: ${messageOf(error)}`);
    printError(failure, json());
    return errorStatus(failure.code, runsAJob);
  }
  if (!failed) return status;
  printError(failed, false);
  return errorStatus(failed.code, runsAJob);
}

/**
 * One line on stderr, the stable code after the words: "headroom: PID must be a process id, not "x"
 * [E_USAGE]". With --json, the error also goes to stdout as {"error": {code, message, details}}.
 */
export function printError(error: HeadroomError, json: boolean): void {
  const line = error.message.replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(`headroom: ${line} [${error.code}]\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error })}\n`);
}
