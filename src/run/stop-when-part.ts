import type { CaptureWriter } from '../record/capture-writer.js';
import type { SamplerState } from '../record/sampler.js';
import type { SessionPart } from '../session/capture-session.js';

/**
 * Asks `stopWhen` after every sample; the first reason it gives stops the job gracefully (SIGTERM, then
 * SIGKILL after the grace period) and is recorded in the capture. `reason()` tells it afterwards.
 */
export function stopWhenPart(
  stopWhen: (state: SamplerState) => string | undefined,
  /** SIGTERM to the job, SIGKILL to all of it after the grace period. */
  terminate: () => void,
  writer: CaptureWriter,
): SessionPart & { reason(): string | null } {
  let stoppedBecause: string | null = null;
  return {
    name: 'the stop policy',
    tick(state) {
      if (!state || stoppedBecause) return;
      const reason = stopWhen(state);
      if (!reason) return;
      stoppedBecause = reason;
      writer.event({
        kind: 'guard-action',
        timeMs: state.timeMs,
        action: 'term',
        pid: null,
        message: `SIGTERM to the job: ${reason}`,
      });
      terminate();
    },
    reason: () => stoppedBecause,
  };
}
