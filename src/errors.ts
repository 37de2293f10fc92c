/** Exit statuses of a wrapped command, as a shell and docker run use them. */
export const EXIT_HEADROOM_ERROR = 125;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;
/** Bad arguments to a command that runs no job (a command that runs one exits 125, as docker run does). */
export const EXIT_USAGE = 2;

/** An error headroom reports in one line and exits on, with the status it should exit with. */
export class HeadroomError extends Error {
  override readonly name = 'HeadroomError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_HEADROOM_ERROR,
  ) {
    super(message);
  }
}
