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

/** The errno name of a failed system call, or of the HeadroomError made from one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof HeadroomError) return error.details.errno;
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/** The file and errno of a failed system call, as HeadroomError details. */
export function systemErrorDetails(error: unknown): ErrorDetails {
  const file = (error as NodeJS.ErrnoException | undefined)?.path;
  const errno = errnoCode(error);
  return { ...(typeof file === 'string' ? { path: file } : {}), ...(errno ? { errno } : {}) };
}
