import { formatBytes, formatDuration, formatPercent } from '../../format.js';
import type { Finding } from '../finding.js';
import { at, type Context, MiB, max, time } from './context.js';
import { filesText } from './page-cache.js';

const MIN_SHMEM = 16 * MiB;

/**
 * tmpfs, /dev/shm and memory-backed volumes: charged as shmem, not reclaimable without swap, and not freed
 * when the process that wrote them exits; only deleting the files frees them.
 */
export function shmemFinding(ctx: Context): Finding | undefined {
  const peak = max(ctx.shmem);
  if (peak.index < 0 || peak.value < MIN_SHMEM || peak.value < 0.1 * at(ctx.usage, ctx.peakIndex))
    return undefined;
  const { limit } = ctx;
  const last = at(ctx.shmem, ctx.length - 1);
  const share =
    limit === null ? '' : ` (${formatPercent(peak.value, limit)} of the ${formatBytes(limit)} limit)`;
  const mounts = ctx.tmpfs
    // Every tmpfs the job could see is listed at the end; the host's own small ones are not its doing.
    .filter((mount) => mount.usedBytes >= 0.1 * peak.value)
    // One tmpfs is often mounted twice (/dev/shm and a bind of it): name it once.
    .filter((mount, i, all) => all.findIndex((m) => m.mountPoint === mount.mountPoint) === i)
    .sort((a, b) => b.usedBytes - a.usedBytes)
    .slice(0, 3)
    .map(
      (mount) =>
        `${mount.mountPoint} held ${formatBytes(mount.usedBytes)} of its ${formatBytes(mount.sizeBytes)}`,
    );
  const files = ctx.files.filter((file) => file.tmpfs).sort((a, b) => b.sizeBytes - a.sizeBytes);
  const where = [
    mounts.length > 0 ? ` At the end ${mounts.join(', ')}.` : '',
    files.length > 0 ? ` Files: ${filesText(files)}.` : '',
  ].join('');
  const stays =
    last >= MIN_SHMEM
      ? ` ${formatBytes(last)} of it was still held when the job ended: killing the writer does not free it.`
      : '';
  const message =
    `Shared memory (tmpfs, /dev/shm) reached ${formatBytes(peak.value)}${share} at ${formatDuration(time(ctx, peak.index))}. ` +
    `Files on tmpfs live in memory: the kernel cannot reclaim them without swap, and only deleting them frees them.${stays}${where}`;
  const near = limit !== null && peak.value >= 0.5 * limit;
  return {
    kind: 'shmem',
    severity:
      near || (ctx.summary.oomKilled && limit !== null && peak.value >= 0.25 * limit) ? 'warning' : 'info',
    message,
    advice: [
      'Delete files in /dev/shm or other tmpfs as soon as they have been read.',
      'Write scratch data to a disk-backed directory instead of /dev/shm or a memory-backed volume (Kubernetes emptyDir with medium: Memory).',
      'Cap it: docker --shm-size, or a sizeLimit on the emptyDir, so a runaway writer gets ENOSPC instead of an OOM kill.',
      'Count it in the limit: multiprocessing queues, PyTorch DataLoader workers and Chromium all use /dev/shm.',
    ],
    evidence: {
      fromMs: time(ctx, Math.max(0, firstAbove(ctx, peak.value / 10))),
      toMs: time(ctx, peak.index),
      series: ['shmem'],
      pids: [...new Set(files.flatMap((file) => file.pids))],
    },
    figures: { shmemPeakBytes: peak.value, shmemAtEndBytes: last, limitBytes: limit },
    files: files.map(({ path, sizeBytes, residentBytes, tmpfs, deleted }) => ({
      path,
      sizeBytes,
      residentBytes,
      tmpfs,
      deleted,
    })),
  };
}

function firstAbove(ctx: Context, threshold: number): number {
  for (let i = 0; i < ctx.length; i++) if (at(ctx.shmem, i) >= threshold) return i;
  return 0;
}
