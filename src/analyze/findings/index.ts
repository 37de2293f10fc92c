import { bySeverity, type Finding } from '../finding.js';
import { anonGrowthFinding } from './anon-growth.js';
import type { Context } from './context.js';
import { limitPressureFinding } from './limit-pressure.js';
import { oomKillFinding } from './oom-kill.js';
import { pageCacheFinding } from './page-cache.js';
import { rightSizeFinding } from './right-size.js';
import { runtimeHeapFindings } from './runtime-heap.js';
import { shmemFinding } from './shmem.js';
import { swapFinding } from './swap.js';

/** Every finding the capture supports, most severe first; the order within a severity is the story's. */
export function findFindings(ctx: Context): Finding[] {
  const findings = [
    oomKillFinding(ctx),
    pageCacheFinding(ctx),
    shmemFinding(ctx),
    anonGrowthFinding(ctx),
    ...runtimeHeapFindings(ctx),
    limitPressureFinding(ctx),
    swapFinding(ctx),
    rightSizeFinding(ctx),
  ];
  return findings.filter((finding): finding is Finding => finding !== undefined).sort(bySeverity);
}
