import type { Finding, FindingKind } from '../finding.js';
import type { Verdict, VerdictKind } from '../verdict.js';

/** The finding that tells the verdict's mechanism in detail, ranked right after the critical ones. */
const DETAIL: Partial<Record<VerdictKind, FindingKind>> = {
  tmpfs: 'shmem',
  'page-cache': 'page-cache',
  'dirty-page-cache': 'page-cache',
  'anon-growth': 'anon-growth',
  'child-process': 'anon-growth',
  workers: 'anon-growth',
  'runtime-heap-limit': 'runtime-heap',
};

/** Kills whose fix is the mechanism, not more memory: a bigger limit only delays them. */
const NOT_A_SIZE_PROBLEM: ReadonlySet<VerdictKind> = new Set([
  'tmpfs',
  'dirty-page-cache',
  'kernel-memory',
  'runtime-heap-limit',
]);

const SEVERITY: Record<Finding['severity'], number> = { critical: 0, warning: 1, info: 2 };

/**
 * The findings that add to the verdict, in an order that reads as one story: a healthy run carries no
 * warning, a kill that more memory would only delay gets no size to try, and the finding that details
 * the verdict's mechanism comes first after the critical ones.
 */
export function agreeWithVerdict(verdict: Verdict, findings: readonly Finding[], killed: boolean): Finding[] {
  const detail = DETAIL[verdict.kind];
  const rank = (f: Finding) => SEVERITY[f.severity] * 2 + (f.kind === detail ? 0 : 1);
  return findings
    .filter((f) => !(killed && f.kind === 'right-size' && NOT_A_SIZE_PROBLEM.has(verdict.kind)))
    .map((f) =>
      verdict.kind === 'healthy' && f.severity !== 'info' ? { ...f, severity: 'info' as const } : f,
    )
    .map((f, order) => ({ f, order }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.order - b.order)
    .map(({ f }) => f);
}
