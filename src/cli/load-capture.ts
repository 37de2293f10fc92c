import type { Capture } from '../record/capture-reader.js';

/**
 * Reads a capture for a command, or says in one line why it cannot and sets exit status 1. The reader's
 * warnings (a truncated or damaged capture) go to stderr; what could be read is still used.
 */
export async function loadCapture(
  file: string,
  setStatus: (code: number) => void,
): Promise<Capture | undefined> {
  const { CaptureError, readCapture } = await import('../record/capture-reader.js');
  let capture: Capture;
  try {
    capture = readCapture(file);
  } catch (error) {
    if (!(error instanceof CaptureError)) throw error;
    process.stderr.write(`headroom: ${error.message}\n`);
    setStatus(1);
    return undefined;
  }
  for (const warning of capture.warnings) process.stderr.write(`headroom: warning: ${warning}\n`);
  return capture;
}
