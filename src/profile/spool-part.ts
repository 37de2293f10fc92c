import type { SessionPart } from '../session/capture-session.js';
import type { SpoolCollector } from './spool-collector.js';

/**
 * The job's profiles, copied into the capture about twice a second: a spool file outlives its process,
 * so nothing is lost between copies, and the capture's flush rhythm stays the sampler's. Closed (a last
 * copy) once the job's leftovers are gone.
 */
export function spoolPart(
  collector: SpoolCollector,
  intervalMs: number,
  say: (line: string) => void,
): SessionPart {
  const collectEvery = Math.max(1, Math.round(500 / intervalMs));
  let ticks = 0;
  return {
    name: 'the profile copy',
    tick() {
      if (ticks++ % collectEvery === 0) collector.collect();
    },
    flush() {
      collector.close();
      if (collector.dropped > 0)
        say(`${collector.dropped} profile line(s) the job wrote were not valid and were left out`);
    },
    abandon() {
      collector.close();
    },
  };
}
