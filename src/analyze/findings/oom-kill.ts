import { formatBytes, formatDuration, formatPercent } from '../../format.js';
import type { Finding } from '../finding.js';
import { at, type Context, largestAnonAt, processName, time } from './context.js';
import { firstKillContext, LOOKBACK_MS } from './kill-context.js';

const MAX_VICTIMS = 5;

/**
 * OOM kills counted by the cgroup: who was killed, at what usage, what memory was made of in the last
 * seconds, and which process held the most anonymous memory. A kill with usage well under the limit came
 * from elsewhere (an ancestor's limit, or the host running out).
 */
export function oomKillFinding(ctx: Context): Finding | undefined {
  const kills = ctx.summary.oomKills;
  const context = firstKillContext(ctx);
  if (!context) return undefined;
  const { kill: first, index, usage, atLimit } = context;
  const lastKill = kills[kills.length - 1] ?? first;
  const { limit } = ctx;
  const victims = kills
    .slice(0, MAX_VICTIMS)
    .map((kill) =>
      kill.pid === null ? 'a process headroom did not see' : `${kill.name ?? '?'} (${kill.pid})`,
    );
  const more = kills.length > MAX_VICTIMS ? ` and ${kills.length - MAX_VICTIMS} more` : '';
  const holder = largestAnonAt(ctx, index >= 0 ? time(ctx, index) : first.timeMs);
  const breakdown =
    index >= 0
      ? `anon ${formatBytes(at(ctx.anon, index))}, page cache ${formatBytes(at(ctx.file, index))}, shmem ${formatBytes(at(ctx.shmem, index))}, kernel ${formatBytes(at(ctx.kernel, index))}`
      : 'no sample before it';
  const where = atLimit
    ? `with usage at ${formatBytes(usage)} of its ${formatBytes(limit)} limit (${formatPercent(usage, limit)}), set by ${ctx.summary.limit.source}`
    : `with usage at ${formatBytes(usage)}${limit === null ? ' and no limit on this cgroup' : `, under its ${formatBytes(limit)} limit`}: the kill came from outside this cgroup's limit (an ancestor's limit or the host running out of memory)`;
  const message =
    `The OOM killer killed ${victims.join(', ')}${more} at ${formatDuration(first.timeMs)}, ${where}. ` +
    `Just before: ${breakdown}.` +
    (holder
      ? ` ${processName(holder.track)} held the most anonymous memory, ${formatBytes(holder.bytes)}.`
      : '');
  const advice = atLimit
    ? killAdvice(ctx, index)
    : [
        'Look at the limits above this cgroup (headroom limits) and at the host: other workloads may have used the memory.',
      ];
  return {
    kind: 'oom-kill',
    severity: 'critical',
    message,
    advice,
    evidence: {
      fromMs: Math.max(0, first.timeMs - LOOKBACK_MS),
      toMs: lastKill.timeMs,
      series: ['usage', 'anon', 'file', 'shmem', 'kernel', 'oomKills'],
      pids: kills.flatMap((kill) => (kill.pid === null ? [] : [kill.pid])),
    },
    figures: {
      kills: kills.length,
      usageBytes: usage,
      limitBytes: limit,
      anonBytes: index >= 0 ? at(ctx.anon, index) : null,
      atLimit: atLimit ? 1 : 0,
      largestAnonPid: holder?.track.pid ?? null,
    },
  };
}

/** What to do about a kill at the limit depends on what filled it: more memory only delays a tmpfs kill. */
function killAdvice(ctx: Context, index: number): string[] {
  const anon = at(ctx.anon, index);
  const shmem = at(ctx.shmem, index);
  const dirty = at(ctx.dirty, index);
  const kernel = at(ctx.kernel, index);
  const most = Math.max(anon, shmem, dirty, kernel);
  if (most === shmem && shmem > 0)
    return [
      'Files on tmpfs (/dev/shm) filled the limit: delete them once read, or cap the tmpfs; more memory only delays the kill while the files stay. See the shmem finding.',
    ];
  if (most === dirty && dirty > 0)
    return [
      'Dirty page cache filled the limit: flush as you write so the kernel can drop it. See the page-cache finding.',
    ];
  if (most === kernel && kernel > 0)
    return [
      'Kernel memory filled the limit: look for sockets, pipes or inotify watches the job opens and never closes (ls -l /proc/PID/fd).',
    ];
  return [
    'Give the job more memory (see the right-size finding), or make it need less: process its input in chunks.',
    "Anonymous memory made up most of it: the job's own data. Profile it to see which code allocates.",
  ];
}
