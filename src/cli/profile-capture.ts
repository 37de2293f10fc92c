import { HeadroomError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { ProfileTime, ProfileView } from '../profile/profile-at.js';
import { PROFILE_TIME_HELP, parseProfileTime } from '../profile/profile-time.js';
import type { Capture } from '../record/capture-reader.js';
import { badOption } from './bad-option.js';
import { loadCapture } from './load-capture.js';

/** --at as the profile views take it; a bad one is a usage error. */
export function parseAtOption(text: string): ProfileTime {
  const at = parseProfileTime(text);
  if (at === undefined) throw badOption('--at', `"${text}" is not a time (${PROFILE_TIME_HELP})`);
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
 * Reads a capture for a profile view, or throws E_NO_PROFILE saying in one line why there is nothing to
 * show: no profile records at all, or (unless `anySnapshot` is false) profilers that never wrote a
 * snapshot. The reader's warnings go to stderr first, as for every capture-reading command.
 */
export async function loadProfileCapture(file: string, anySnapshot = true): Promise<Capture> {
  const capture = await loadCapture(file);
  const { noProfileReason } = await import('../profile/profile-capture.js');
  const reason = noProfileReason(capture, file, anySnapshot);
  if (reason === undefined) return capture;
  throw new HeadroomError('E_NO_PROFILE', reason, { path: file });
}

/** A profile view's input: the capture, the merged profile at the time asked, and that time in words. */
export interface LoadedProfileView {
  capture: Capture;
  view: ProfileView;
  /** "at peak (2.00s)", for headings. */
  when: string;
}

/** loadProfileCapture, then the profile at `at` (warning first when `at` is past the capture's end). */
export async function loadProfileView(file: string, at: ProfileTime): Promise<LoadedProfileView> {
  const capture = await loadProfileCapture(file);
  const [{ profileAt }, { describeProfileTime }] = await Promise.all([
    import('../profile/profile-at.js'),
    import('../profile/profile-time.js'),
  ]);
  warnPastEnd(capture, at);
  const view = profileAt(capture, at);
  return { capture, view, when: describeProfileTime(at, view.timeMs) };
}
