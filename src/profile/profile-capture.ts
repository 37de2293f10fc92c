import type { Capture } from '../record/capture-reader.js';
import { sanitizeForTerminal } from '../terminal-text.js';

/**
 * Why a capture has no allocation profile to show, in one line naming the file; undefined when it has
 * one. `anySnapshot`: a profile whose profilers started but never wrote a snapshot counts as none. The
 * header says whether profiling was on, which decides between "turn it on" and "it was on, but".
 */
export function noProfileReason(capture: Capture, file: string, anySnapshot = true): string | undefined {
  const name = sanitizeForTerminal(file);
  if (capture.profiles.length === 0) {
    // Profiling on and still nothing: telling the user to turn it on would send them in a circle.
    if (capture.header.profiling) {
      return (
        `no allocation profile in ${name}: profiling was on, but no Node or Python process of the job wrote ` +
        'a profile (none ran, a process ran python -I, -S or -E, or the job could not write ' +
        "headroom's spool directory after dropping privileges)"
      );
    }
    return (
      `no allocation profile in ${name} (run with --profile or list the component in headroom.toml ` +
      '[profiling] components)'
    );
  }
  if (!anySnapshot || capture.profiles.some((profile) => profile.snapshots.length > 0)) return undefined;
  const note = capture.profiles.flatMap((profile) =>
    profile.notes.map((n) => `pid ${profile.pid}: ${n.message}`),
  )[0];
  return (
    `no allocation profile in ${name}: the profilers started but wrote no snapshot` +
    (note ? ` (${sanitizeForTerminal(note)})` : ' (see headroom stats)')
  );
}
