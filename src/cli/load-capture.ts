import type { Capture } from '../record/capture-reader.js';

/**
 * Reads a capture for a command; one that cannot be read at all throws (E_CAPTURE_READ, E_NOT_A_CAPTURE,
 * ...). The reader's warnings (a truncated or damaged capture) go to stderr; what could be read is used.
 */
export async function loadCapture(file: string): Promise<Capture> {
  const { readCapture } = await import('../record/capture-reader.js');
  const capture = readCapture(file);
  for (const warning of capture.warnings) process.stderr.write(`headroom: warning: ${warning}\n`);
  return capture;
}
