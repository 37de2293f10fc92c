import { formatBytes, formatDuration, formatPercent } from '../format.js';
import type { LatestState } from '../record/capture-reader.js';
import { sanitizeForTerminal } from '../terminal-text.js';

const BAR = 30;
const MAX_EVENTS = 5;

/**
 * One screen of `headroom live`: the job, its usage against the limit, what memory is made of, the
 * processes holding the most, and the latest events. Strings from the job pass the terminal sanitizer.
 */
export function renderLive(
  state: LatestState,
  options: { width: number; height: number; file: string },
): string[] {
  const { header, values: v } = state;
  const command = sanitizeForTerminal(header.command.join(' '));
  const status = state.end
    ? state.end.signal
      ? `killed by ${state.end.signal}`
      : `exited ${state.end.exitCode}`
    : 'running';
  const lines = [
    `headroom live  ${command}  ${status} ${formatDuration(state.timeMs)}  (${sanitizeForTerminal(options.file)})`,
  ];
  if (!state.sampled) {
    lines.push('no cgroup sample yet');
    return lines.map((line) => cut(line, options.width));
  }
  const self = header.cgroup.mode === 'observe' ? Math.max(0, v.self) : 0;
  const usage = Math.max(0, v.usage - self);
  const limit = header.limit.bytes;
  const filled = limit ? Math.min(BAR, Math.round((usage / limit) * BAR)) : 0;
  lines.push(
    limit
      ? `usage   ${formatBytes(usage)} of ${formatBytes(limit)} limit (${formatPercent(usage, limit)})  [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}]`
      : `usage   ${formatBytes(usage)} (no limit)`,
  );
  const dirty = Math.max(0, v.fileDirty) + Math.max(0, v.fileWriteback);
  lines.push(
    `made of anon ${formatBytes(Math.max(0, v.anon - self))}, page cache ${formatBytes(Math.max(0, v.file))} (dirty ${formatBytes(dirty)}), shmem ${formatBytes(Math.max(0, v.shmem))}, kernel ${formatBytes(Math.max(0, v.kernel))}, swap ${formatBytes(Math.max(0, v.swap))}`,
  );
  lines.push(
    `peak    ${v.peak >= 0 ? formatBytes(v.peak - self) : '-'}   OOM kills ${Math.max(0, v.oomKills)}   limit hits ${Math.max(0, v.limitHits)}`,
  );
  const events = state.events
    .filter((e) => e.kind !== 'files' && e.kind !== 'guard-knobs')
    .slice(-MAX_EVENTS);
  const room = Math.max(0, options.height - lines.length - 2 - (events.length ? events.length + 1 : 0));
  const processes = [...state.running]
    .map((track) => ({ track, rss: lastRss(track) }))
    .sort((a, b) => b.rss - a.rss)
    .slice(0, room);
  lines.push('', `${'PID'.padStart(8)} ${'RSS'.padStart(9)}  COMMAND`);
  for (const { track, rss } of processes) {
    lines.push(
      `${String(track.pid).padStart(8)} ${formatBytes(rss).padStart(9)}  ${sanitizeForTerminal(track.argv.join(' ') || track.name)}`,
    );
  }
  if (events.length > 0) {
    lines.push('events');
    for (const event of events)
      lines.push(`  ${formatDuration(event.timeMs)}  ${sanitizeForTerminal(describe(event))}`);
  }
  return lines.map((line) => cut(line, options.width));
}

function describe(event: LatestState['events'][number]): string {
  switch (event.kind) {
    case 'oom-kill':
      return `OOM kill: ${event.victims.map((victim) => `${victim.name} (${victim.pid})`).join(', ') || `${event.count} process(es)`}`;
    case 'limit-hit':
      return `limit hits: ${event.total} so far`;
    case 'limit-change':
      return `limit changed to ${formatBytes(event.limit)}`;
    case 'guard-action':
      return `guard: ${event.message}`;
    case 'note':
      return event.message;
    default:
      return event.kind;
  }
}

function lastRss(track: LatestState['running'][number]): number {
  const { anon, file, shmem } = track.samples;
  const last = anon.length - 1;
  return last < 0 ? 0 : (anon[last] ?? 0) + (file[last] ?? 0) + (shmem[last] ?? 0);
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}
