import { formatDuration } from '../format.js';
import type { ProfileTime, ProfileView } from '../profile/profile-at.js';
import { PROFILE_TIME_HELP, parseProfileTime } from '../profile/profile-time.js';
import type { Capture } from '../record/capture-reader.js';
import { loadCapture } from './load-capture.js';
import { SizeError } from './parse-size.js';

/** --at as the profile views take it; a bad one is a usage error. */
export function parseAtOption(text: string): ProfileTime {
  const at = parseProfileTime(text);
  if (at === undefined) throw new SizeError(`--at: "${text}" is not a time (${PROFILE_TIME_HELP})`);
  return at;
}

/** A time after the capture's last record shows nothing: say why rather than print an empty view. */
export function warnPastEnd(capture: Capture, at: ProfileTime): void {
  if (typeof at !== 'number' || at <= capture.lastTimeMs) return;
  process.stderr.write(
    `headroom: warning: --at ${formatDuration(at)} is after the end of the capture ` +
      `(${formatDuration(capture.lastTimeMs)}); nothing was running then\n`,
  );
}

/**
 * Reads a capture for a profile view, or says in one line why there is nothing to show and sets exit
 * status 1: no profile records at all, or (unless `anySnapshot` is false) profilers that never wrote a
 * snapshot. The reader's warnings go to stderr first, as for every capture-reading command.
 */
export async function loadProfileCapture(
  file: string,
  setStatus: (code: number) => void,
  anySnapshot = true,
): Promise<Capture | undefined> {
  const capture = await loadCapture(file, setStatus);
  if (!capture) return undefined;
  const { noProfileReason } = await import('../profile/profile-capture.js');
  const reason = noProfileReason(capture, file, anySnapshot);
  if (reason === undefined) return capture;
  process.stderr.write(`headroom: ${reason}\n`);
  setStatus(1);
  return undefined;
}

/** A profile view's input: the capture, the merged profile at the time asked, and that time in words. */
export interface LoadedProfileView {
  capture: Capture;
  view: ProfileView;
  /** "at peak (2.00s)", for headings. */
  when: string;
}

/**
 * loadProfileCapture, then the profile at `at` (warning first when `at` is past the capture's end);
 * undefined after saying why there is nothing to show.
 */
export async function loadProfileView(
  file: string,
  at: ProfileTime,
  setStatus: (code: number) => void,
): Promise<LoadedProfileView | undefined> {
  const capture = await loadProfileCapture(file, setStatus);
  if (!capture) return undefined;
  const [{ profileAt }, { describeProfileTime }] = await Promise.all([
    import('../profile/profile-at.js'),
    import('../profile/profile-time.js'),
  ]);
  warnPastEnd(capture, at);
  const view = profileAt(capture, at);
  return { capture, view, when: describeProfileTime(at, view.timeMs) };
}
