/** A kernel interface file that is missing, unreadable or not in the documented format. */
export class KernelFileError extends Error {
  override readonly name = 'KernelFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
    /** The errno code when the failure came from the system ("ENOENT", "EOPNOTSUPP"). */
    readonly code?: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export function errnoCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
