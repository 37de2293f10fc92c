// Scores one case's `headroom summary --json` against the corpus's expectations, and words the result.
import type { Finding } from '../../src/analyze/finding.js';
import type { Verdict, VerdictKind } from '../../src/analyze/verdict.js';
import type { DiagnosisCase } from './cases.js';
import { type ObservedSummary, observed } from './workload-checks.js';

/** What the corpus reads of a summary: findings, the verdict, and what the run showed. */
export interface ScoredSummary extends ObservedSummary {
  findings: Array<Pick<Finding, 'kind' | 'severity'>>;
  verdict: Pick<Verdict, 'kind' | 'cause' | 'confidence'>;
}

export interface CaseResult {
  name: string;
  expected: VerdictKind;
  /** The verdict's kind, or why there is none (timed out, an error). */
  got: string;
  right: boolean;
  /** `severity kind` of each finding that is a false alarm for this case. */
  falseAlarms: string[];
  cause: string;
  confidence: string;
  /** The case's workload claims the run did not show: the verdict is then scored against the wrong thing. */
  workload: string[];
  /** Exit, OOM kills, limit hits and the breakdown at the peak, in one line. */
  observed: string;
  wallMs: number;
}

/** Cases where nothing is wrong, or nothing that needs doing: any warning there is a false alarm. */
const NO_ALARM_EXPECTED: ReadonlySet<VerdictKind> = new Set(['healthy', 'page-cache']);

export function scoreCase(spec: DiagnosisCase, summary: ScoredSummary, wallMs: number): CaseResult {
  const falseAlarms = summary.findings
    .filter(
      (finding) =>
        spec.mustNot.includes(finding.kind) ||
        (NO_ALARM_EXPECTED.has(spec.expected) && finding.severity !== 'info'),
    )
    .map((finding) => `${finding.severity} ${finding.kind}`);
  const { verdict } = summary;
  return {
    name: spec.name,
    expected: spec.expected,
    got: verdict.kind,
    right: verdict.kind === spec.expected,
    falseAlarms,
    cause: verdict.cause,
    confidence: verdict.confidence,
    workload: spec.shows.map((check) => check(summary)).filter((problem) => problem !== null),
    observed: observed(summary),
    wallMs,
  };
}

/** A case that produced no summary to score: wrong, with the reason where the verdict would be. */
export function failedCase(spec: DiagnosisCase, reason: string, wallMs: number): CaseResult {
  return {
    name: spec.name,
    expected: spec.expected,
    got: reason,
    right: false,
    falseAlarms: [],
    cause: '',
    confidence: '',
    workload: [],
    observed: '',
    wallMs,
  };
}

export interface CorpusScore {
  right: number;
  total: number;
  falseAlarms: number;
  /** Cases whose run did not show what their workload claims. */
  workloadsOff: number;
  /** `N/N verdicts right, K false alarms`, and the workloads that are off, if any. */
  line: string;
}

export function scoreCorpus(results: CaseResult[]): CorpusScore {
  const right = results.filter((result) => result.right).length;
  const falseAlarms = results.reduce((sum, result) => sum + result.falseAlarms.length, 0);
  const workloadsOff = results.filter((result) => result.workload.length > 0).length;
  const line = `${right}/${results.length} verdicts right, ${falseAlarms} false alarm${falseAlarms === 1 ? '' : 's'}`;
  return {
    right,
    total: results.length,
    falseAlarms,
    workloadsOff,
    line: workloadsOff ? `${line}; ${workloadsOff} workload${workloadsOff === 1 ? '' : 's'} off` : line,
  };
}

/**
 * One line per case, columns aligned: name, expected, got, false alarms, then any workload claim the run
 * did not show, and the verdict's cause (or, when the case failed before one, what the run showed).
 */
export function caseLines(results: CaseResult[]): string[] {
  const rows = results.map((result) => [
    `${result.right ? 'ok  ' : 'FAIL'} ${result.name}`,
    `expected ${result.expected}`,
    `got ${result.got}${result.confidence ? ` (${result.confidence})` : ''}`,
    result.falseAlarms.length ? `false alarms: ${result.falseAlarms.join(', ')}` : 'no false alarms',
    `${(result.wallMs / 1000).toFixed(1)} s`,
  ]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((cells) => cells[i]?.length ?? 0))) ?? [];
  return rows.map((cells, i) => {
    const result = results[i];
    const tail = [
      result?.workload.length ? `WORKLOAD OFF: ${result.workload.join('; ')}.` : '',
      result?.cause || (result?.observed ? `(${result.observed})` : ''),
    ].filter(Boolean);
    return [cells.map((cell, j) => cell.padEnd(widths[j] ?? 0)).join('  '), ...tail].join('  ').trimEnd();
  });
}
