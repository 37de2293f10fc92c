/**
 * What went wrong, as a stable id that scripts and the README can rely on while messages change. The
 * exit status of each is decided in one place (cli/error-status.ts); the README lists them all.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_BAD_SIZE'
  | 'E_CONFIG'
  | 'E_COMMAND_NOT_FOUND'
  | 'E_NOT_EXECUTABLE'
  | 'E_JOB_START'
  | 'E_PRELOAD_DIR'
  | 'E_NOT_LINUX'
  | 'E_NO_MEMORY_CONTROLLER'
  | 'E_CGROUP_NOT_FOUND'
  | 'E_NO_OWN_CGROUP'
  | 'E_KERNEL_FILE'
  | 'E_CAPTURE_WRITE'
  | 'E_CAPTURE_READ'
  | 'E_NOT_A_CAPTURE'
  | 'E_CAPTURE_DAMAGED'
  | 'E_CAPTURE_VERSION'
  | 'E_NO_PROFILE'
  | 'E_OUTPUT_EXISTS'
  | 'E_OUTPUT_WRITE'
  | 'E_LISTEN'
  | 'E_NO_SUCH_PROCESS'
  | 'E_NO_PERMISSION'
  | 'E_NOT_NODE'
  | 'E_ATTACH'
  | 'E_INSPECTOR'
  | 'E_INTERRUPTED'
  | 'E_INTERNAL';

/** What an error is about, for scripts: only the fields that apply are present. */
export interface ErrorDetails {
  /** The file or directory at fault. */
  path?: string;
  /** The system's name for the failure ("ENOENT"). */
  errno?: string;
  /** The process at fault. */
  pid?: number;
  /** The option or argument at fault ("--memory"). */
  option?: string;
  /** The command that could not be started. */
  command?: string;
}

/** Every error headroom reports: one line of words, a stable code, and the details a script needs. */
export class HeadroomError extends Error {
  override readonly name = 'HeadroomError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }

  /** The form --json outputs carry under "error". */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Whether `error` is a HeadroomError, with one of `codes` when any are given. */
export function isHeadroomError(error: unknown, ...codes: ErrorCode[]): error is HeadroomError {
  return error instanceof HeadroomError && (codes.length === 0 || codes.includes(error.code));
}

/** What was thrown, as words: an Error's message, anything else as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
