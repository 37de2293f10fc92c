import type { ErrorCode } from '../errors.js';

/** Bad arguments to a command that runs no job. */
const USAGE = 2;
/** The status docker run gives its own failures; a command that runs a job gives it to all of its own. */
const HEADROOM_FAILED = 125;

/**
 * The exit status of each error code, in a command that runs no job: 2 for bad arguments, 1 for a
 * failure (as grep and diff use them), 130 for an interrupt as a shell reports Ctrl-C, 125 for a fault
 * of headroom's own. The README's table of codes repeats it (a test holds them together).
 */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  E_USAGE: USAGE,
  E_BAD_SIZE: USAGE,
  E_CONFIG: USAGE,
  E_COMMAND_NOT_FOUND: 127,
  E_NOT_EXECUTABLE: 126,
  E_JOB_START: HEADROOM_FAILED,
  E_PRELOAD_DIR: HEADROOM_FAILED,
  E_NOT_LINUX: 1,
  E_NO_MEMORY_CONTROLLER: 1,
  E_CGROUP_NOT_FOUND: 1,
  E_NO_OWN_CGROUP: HEADROOM_FAILED,
  E_KERNEL_FILE: HEADROOM_FAILED,
  E_CAPTURE_WRITE: 1,
  E_CAPTURE_READ: 1,
  E_NOT_A_CAPTURE: 1,
  E_CAPTURE_DAMAGED: 1,
  E_CAPTURE_VERSION: 1,
  E_NO_PROFILE: 1,
  E_OUTPUT_EXISTS: 1,
  E_OUTPUT_WRITE: 1,
  E_LISTEN: 1,
  E_NO_SUCH_PROCESS: 1,
  E_NO_PERMISSION: 1,
  E_NOT_NODE: 1,
  E_ATTACH: 1,
  E_INSPECTOR: 1,
  E_INTERRUPTED: 130,
  E_INTERNAL: HEADROOM_FAILED,
};

/**
 * The exit status for `code`. A command that runs a job leaves 1 to 124 to the job and 126 and 127 to
 * starting it, as docker run does: every other error of its own, bad arguments too, exits 125.
 */
export function errorStatus(code: ErrorCode, runsAJob: boolean): number {
  const status = ERROR_STATUS[code];
  return runsAJob && status !== 126 && status !== 127 ? HEADROOM_FAILED : status;
}
