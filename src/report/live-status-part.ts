import { formatBytes, formatDuration } from '../format.js';
import type { SamplerState } from '../record/sampler.js';
import type { CaptureSession, SessionPart } from '../session/capture-session.js';
import { LiveStatus } from './live-status.js';

/** The status line on the terminal's last row, redrawn every second while the job runs. */
export function liveStatusPart(stream: NodeJS.WriteStream, session: CaptureSession): SessionPart {
  const status = new LiveStatus(stream);
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'the live status',
    start() {
      status.start();
      timer = setInterval(() => {
        const state = session.sampler.state;
        if (state) status.update(statusLine(state, session.writer.bytesWritten));
      }, 1000);
    },
    stop() {
      clearInterval(timer);
      status.stop();
    },
  };
}

function statusLine(state: SamplerState, captureBytes: number): string {
  const s = state.sample;
  const limit =
    s.limit === null ? '' : ` / ${formatBytes(s.limit)} (${Math.round((s.usage / s.limit) * 100)}%)`;
  return (
    `headroom ${formatDuration(state.timeMs)}  ${formatBytes(s.usage)}${limit}  anon ${formatBytes(s.anon)}` +
    `  cache ${formatBytes(s.file)} (dirty ${formatBytes(s.fileDirty)})  shmem ${formatBytes(s.shmem)}` +
    `  ${state.processCount} proc  peak ${formatBytes(state.maxUsage)}` +
    (s.oomKills ? `  OOM kills ${s.oomKills}` : '') +
    `  capture ${formatBytes(captureBytes)}`
  );
}
