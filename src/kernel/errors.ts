import { errnoCode } from '../errno-words.js';
import { type ErrorDetails, HeadroomError } from '../errors.js';

/**
 * A kernel interface file that is missing, unreadable or not in the documented format: E_KERNEL_FILE,
 * with the file as `details.path` and, when the failure came from the system, its errno ("ENOENT",
 * "EOPNOTSUPP") as `details.errno`.
 */
export function kernelFileError(file: string, reason: string, errno?: string): HeadroomError {
  return new HeadroomError(
    'E_KERNEL_FILE',
    `${file}: ${reason}`,
    errno ? { path: file, errno } : { path: file },
  );
}

export { describeErrno, errnoCode } from '../errno-words.js';

/** The file and errno of a failed system call, as HeadroomError details. */
export function systemErrorDetails(error: unknown): ErrorDetails {
  const file = (error as NodeJS.ErrnoException | undefined)?.path;
  const errno = errnoCode(error);
  return { ...(typeof file === 'string' ? { path: file } : {}), ...(errno ? { errno } : {}) };
}
