import type { MemoryBreakdown } from '../analyze/summarize.js';
import { formatBytes } from '../format.js';

/**
 * The one line joining the container's view of the peak to the code's: "at peak: 1.7 GiB page cache +
 * 250 MiB anon, of which 210 MiB was allocated in load_everything (etl.py:12)". Page cache and shmem
 * are left out when under 1% of the three (kernel memory is nobody's code); anon, which the site's bytes
 * are part of, always shows. Undefined without a top site. The label is the job's text: escape it
 * for the terminal or HTML where it is shown.
 */
export function profileJoinLine(
  breakdown: Pick<MemoryBreakdown, 'file' | 'anon' | 'shmem'>,
  topSite: { label: string; bytes: number } | undefined,
): string | undefined {
  if (!topSite || topSite.bytes <= 0) return undefined;
  // A few KiB of page cache beside hundreds of MiB of anon is noise in a one-line answer.
  const noise = (breakdown.file + breakdown.anon + breakdown.shmem) / 100;
  const parts = [
    breakdown.file > noise ? `${formatBytes(breakdown.file)} page cache` : '',
    `${formatBytes(breakdown.anon)} anon`,
    breakdown.shmem > noise ? `${formatBytes(breakdown.shmem)} shmem` : '',
  ].filter(Boolean);
  return `at peak: ${parts.join(' + ')}, of which ${formatBytes(topSite.bytes)} was allocated in ${topSite.label}`;
}
