import { formatBytes, formatDuration, formatPercent } from '../../format.js';
import type { CachedFile, Finding } from '../finding.js';
import { at, type Context, MiB, max, time } from './context.js';

/** Below this, cache cannot explain anything worth a finding. */
const MIN_CACHE = 32 * MiB;
/** Usage this close to the limit means the kernel is reclaiming. */
const NEAR_LIMIT = 0.9;
/** Dirty cache above this share of the limit means writes outran the disk. */
const DIRTY_SHARE = 0.25;

/**
 * Usage that is mostly page cache: clean cache is reclaimable and is not a leak; dirty cache must be
 * written out before it can be dropped, so reclaim stalls behind the disk.
 */
export function pageCacheFinding(ctx: Context): Finding | undefined {
  const index = referenceSample(ctx);
  if (index < 0) return undefined;
  const usage = at(ctx.usage, index);
  const file = at(ctx.file, index);
  if (file < MIN_CACHE || file < usage / 2) return undefined;
  const { limit } = ctx;
  const dirtyPeak = max(ctx.dirty);
  const near = limit !== null && usage >= NEAR_LIMIT * limit;
  // Dirty cache is only a problem where it must be reclaimed: at the limit.
  const pressed = near || ctx.summary.limitHits > 0;
  const dirtyHeavy =
    pressed && dirtyPeak.value >= MIN_CACHE && dirtyPeak.value >= DIRTY_SHARE * (limit ?? usage);
  const anon = at(ctx.anon, index);
  const files = cachedFiles(ctx);
  const where = files.length > 0 ? ` It is mostly ${filesText(files)}.` : '';
  const whole =
    near && limit !== null
      ? `of the ${formatBytes(limit)} limit (${formatPercent(file, limit)})`
      : `of ${formatBytes(usage)} in use (${formatPercent(file, usage)})`;
  const dirtyNow = at(ctx.dirty, index);
  const dirtyText =
    dirtyNow >= MIN_CACHE
      ? `, ${formatBytes(dirtyNow)} of it dirty or being written back`
      : dirtyPeak.value >= MIN_CACHE
        ? ` (dirty cache peaked at ${formatBytes(dirtyPeak.value)} at ${formatDuration(time(ctx, dirtyPeak.index))})`
        : '';
  const message =
    `At ${formatDuration(time(ctx, index))}, ${formatBytes(file)} ${whole} was page cache${dirtyText}; ` +
    `the job's processes themselves held ${formatBytes(anon)} of anonymous memory.${where} ` +
    (dirtyHeavy
      ? 'Page cache is charged to the container; dirty pages must reach the disk before the kernel can drop them, so writes outran the disk and reclaim stalls behind it.'
      : 'Page cache is charged to the container, but clean cache is dropped as soon as memory is needed: this is not a leak.') +
    writebackNote(ctx.capture.header.cgroup.version, dirtyHeavy, dirtyPeak.value);
  return {
    kind: 'page-cache',
    severity: near && (dirtyHeavy || ctx.summary.oomKilled) ? 'warning' : 'info',
    message,
    advice: dirtyHeavy ? DIRTY_ADVICE : CLEAN_ADVICE,
    evidence: {
      fromMs: firstTime(ctx, file / 2),
      toMs: time(ctx, index),
      series: ['file', 'fileDirty', 'fileWriteback'],
      pids: [...new Set(files.flatMap((f) => f.pids))],
    },
    figures: {
      fileBytes: file,
      usageBytes: usage,
      anonBytes: anon,
      dirtyPeakBytes: dirtyPeak.value,
      limitBytes: limit,
      shareOfUsage: usage > 0 ? file / usage : null,
    },
    files: files.map(({ pids: _, ...rest }) => rest),
  };
}

/**
 * Why the dirty share looks the way it does: the two cgroup versions throttle writers differently, and
 * the same job leaves far less dirty cache at its limit on v2.
 */
function writebackNote(version: 1 | 2, dirtyHeavy: boolean, dirtyPeak: number): string {
  if (version === 1 && dirtyHeavy)
    return " (cgroup v1 has no writeback of its own: the host's dirty limits, sized from all of its memory, let one container's dirty pages fill its limit.)";
  if (version === 2 && !dirtyHeavy && dirtyPeak > 0)
    return " (cgroup v2 throttles a cgroup's writers once its own dirty pages pass its share of the dirty limit, so writes were slowed to the disk's pace rather than piled up as dirty cache.)";
  return '';
}

const DIRTY_ADVICE = [
  'Flush as you write: fsync or fdatasync every few hundred MiB (Python: f.flush(); os.fsync(f.fileno())), so dirty pages never pile up.',
  "Drop what you will not read again: after the fsync, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) (Python: os.posix_fadvise) tells the kernel to free the file's pages.",
  'Write smaller files, or stream the output to object storage (S3, GCS) instead of a local file.',
  'On cgroup v2, a memory.high a little below memory.max makes the kernel reclaim and throttle writers before the limit is reached.',
];

const CLEAN_ADVICE = [
  'Nothing to fix in the job: the kernel reclaims clean cache under pressure.',
  'Alert on the working set (usage minus inactive file cache, as docker stats and the kubelet count it) rather than on usage.',
  'If a reader should not push out other cache, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) after reading frees its pages at once.',
];

/**
 * The sample that tells the story: near the limit, the one with the most cache; without a limit, or never
 * near it, the peak.
 */
function referenceSample(ctx: Context): number {
  const { limit } = ctx;
  let best = -1;
  if (limit !== null) {
    for (let i = 0; i < ctx.length; i++) {
      if (at(ctx.usage, i) >= NEAR_LIMIT * limit && (best < 0 || at(ctx.file, i) > at(ctx.file, best)))
        best = i;
    }
  }
  return best >= 0 ? best : ctx.peakIndex;
}

function firstTime(ctx: Context, threshold: number): number {
  for (let i = 0; i < ctx.length; i++) if (at(ctx.file, i) >= threshold) return time(ctx, i);
  return 0;
}

type FileWithPids = CachedFile & { pids: number[] };

function cachedFiles(ctx: Context): FileWithPids[] {
  return ctx.files
    .filter((file) => !file.tmpfs)
    .map((file) => ({
      path: file.path,
      sizeBytes: file.sizeBytes,
      residentBytes: file.residentBytes,
      tmpfs: false,
      deleted: file.deleted,
      pids: file.pids,
    }))
    .sort((a, b) => (b.residentBytes ?? b.sizeBytes) - (a.residentBytes ?? a.sizeBytes))
    .slice(0, 5);
}

export function filesText(files: readonly CachedFile[]): string {
  return files
    .slice(0, 3)
    .map((file) =>
      file.residentBytes === null
        ? `${file.path} (${formatBytes(file.sizeBytes)})`
        : `${file.path} (${formatBytes(file.sizeBytes)}, ${formatBytes(file.residentBytes)} of it still cached at the end)`,
    )
    .join(', ');
}
