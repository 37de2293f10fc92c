import fs from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors.js';
import type { Capture } from '../record/capture-reader.js';
import type { CaptureWriter } from '../record/capture-writer.js';

/**
 * The capture as written, read back for the summary: through headroom's own descriptor when its name
 * was deleted during the run, and as far as it goes when writing stopped. Null, with a warning, when
 * nothing readable is left.
 */
export async function readBack(writer: CaptureWriter, warn: (line: string) => void): Promise<Capture | null> {
  // Loaded only now: the reader is not needed while the job runs, and every module loaded early stays
  // in headroom's memory, which counts against the job's limit in observe mode.
  const { readCapture } = await import('../record/capture-reader.js');
  const named = writer.stillNamed();
  if (!named)
    warn(
      `the capture ${writer.file} ${whatBecameOf(writer.file)} while the job ran; the summary is read from what headroom still held open, and nothing of it is left on disk`,
    );
  try {
    const recorded = readCapture(named ? writer.file : writer.openPath);
    if (writer.failure !== null)
      warn(`the capture is incomplete (${writer.failure}); the summary covers what was recorded`);
    return recorded;
  } catch (error) {
    if (writer.failure !== null && writer.bytesWritten === 0) {
      // Not one record made it: an empty file would only be mistaken for a capture later.
      fs.rmSync(writer.file, { force: true });
      warn(`no summary: nothing could be recorded (${writer.failure})`);
    } else {
      warn(`no summary: ${messageOf(error)}`);
    }
    return null;
  }
}

/** What happened to a capture's name: another file took it, its directory went, or it was deleted. */
function whatBecameOf(file: string): string {
  if (fs.existsSync(file)) return 'was replaced by another file (left as it is)';
  if (!fs.existsSync(path.dirname(file))) return 'was removed with its directory';
  return 'was deleted';
}
