import { formatDuration } from '../format.js';
import type { ProfileTime } from './profile-at.js';

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** What --at takes, for help texts and error messages. */
export const PROFILE_TIME_HELP =
  'peak, end, or the time since the start: seconds ("12", "12.5") or with units ("12.5s", "1m30s", "1h2m", "800ms")';

/**
 * Reads --at: "peak", "end", or a time since the capture's start. A bare number is seconds ("12.5"); with
 * units, parts of h, m, s and ms follow each other from the largest ("1m30s", "2h", "1s500ms"). Returns
 * undefined when the text is none of these.
 */
export function parseProfileTime(text: string): ProfileTime | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'peak' || trimmed === 'end') return trimmed;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
  let ms = 0;
  let previousUnit = Number.POSITIVE_INFINITY;
  let at = 0;
  while (at < trimmed.length) {
    part.lastIndex = at;
    const match = part.exec(trimmed);
    if (!match) return undefined;
    const unit = UNIT_MS[match[2] as string] as number;
    // "30s1m" or "1m1m" is more likely a typo than a time.
    if (unit >= previousUnit) return undefined;
    previousUnit = unit;
    ms += Number(match[1]) * unit;
    at = part.lastIndex;
  }
  return at === 0 ? undefined : Math.round(ms);
}

/** "at peak (2.00s)", "at the end (4.00s)", "at 1.50s": what a view covers, for headings. */
export function describeProfileTime(at: ProfileTime, timeMs: number): string {
  if (at === 'peak') return `at peak (${formatDuration(timeMs)})`;
  if (at === 'end') return `at the end (${formatDuration(timeMs)})`;
  return `at ${formatDuration(timeMs)}`;
}
