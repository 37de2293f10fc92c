import type { Capture } from '../../record/capture-reader.js';
import { bySeverity, type Finding } from '../finding.js';
import type { Summary } from '../summarize.js';
import { anonGrowthFinding } from './anon-growth.js';
import { buildContext } from './context.js';
import { limitPressureFinding } from './limit-pressure.js';
import { oomKillFinding } from './oom-kill.js';
import { pageCacheFinding } from './page-cache.js';
import { rightSizeFinding } from './right-size.js';
import { runtimeHeapFindings } from './runtime-heap.js';
import { shmemFinding } from './shmem.js';
import { swapFinding } from './swap.js';

/** Every finding the capture supports, most severe first; the order within a severity is the story's. */
export function findFindings(capture: Capture, summary: Omit<Summary, 'findings'>): Finding[] {
  const ctx = buildContext(capture, summary);
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
