import { messageOf } from '../errors.js';
import type { CaptureWriter } from '../record/capture-writer.js';
import type { SessionPart } from '../session/capture-session.js';
import type { JobGuard } from './job-guard.js';
import { Watchdog, type WatchdogOptions } from './watchdog.js';

/** The guard's share of a capture: the preloads' reports go in at the end; unread when the job never ran. */
export function guardPart(guard: JobGuard, writer: CaptureWriter, startMs: number): SessionPart {
  return {
    name: 'the guard',
    flush: () => guard.collect(writer, startMs, Date.now() - startMs),
    abandon: () => guard.discard(),
  };
}

/**
 * The watchdog, started with the job. It must be first in the session's list: once the job has ended
 * nothing may leave the OOM killer off or a limit changed, and it is closed (a restore that failed is
 * tried again) only once the job's leftovers are gone and their memory with them.
 */
export function watchdogPart(options: WatchdogOptions, say: (line: string) => void): SessionPart {
  let watchdog: Watchdog | undefined;
  return {
    name: 'the watchdog',
    start() {
      try {
        watchdog = new Watchdog(options);
        say(watchdog.start());
      } catch (error) {
        // The job runs on without a watchdog rather than headroom failing under it.
        watchdog?.close();
        watchdog = undefined;
        say(`the watchdog could not start, the job runs without it: ${messageOf(error)}`);
      }
    },
    stop: () => watchdog?.stop(),
    flush: () => watchdog?.close(),
  };
}
