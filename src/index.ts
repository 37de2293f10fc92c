/** The library: the same operations the commands use. */

export type { CachedFile, Evidence, Finding, FindingKind, Severity } from './analyze/finding.js';
export { type LimitsReport, limits, type RuntimeCeilings } from './analyze/limits.js';
export { type Summary, summarize } from './analyze/summarize.js';
export { type HeadroomConfig, loadConfig } from './config/config.js';
export { type ErrorCode, type ErrorDetails, HeadroomError, isHeadroomError } from './errors.js';
export {
  type BudgetState,
  type MemoryBudget,
  type MemoryBudgetOptions,
  memoryBudget,
} from './guard/memory-budget.js';
export * as kernel from './kernel/index.js';
export {
  frameLabel,
  type ProcessPart,
  type ProfileTime,
  type ProfileView,
  profileAt,
  type Site,
  type TreeNode,
  topSites,
} from './profile/profile-at.js';
export * from './profile/profile-format.js';
export type { Frame, ProcessProfile, ProfileNode, ProfileSnapshot } from './profile/profile-model.js';
export * from './record/capture-format.js';
export { type Capture, readCapture } from './record/capture-reader.js';
export { renderHtmlReport } from './report/html/html-report.js';
export { renderSummaryText, type SummaryTextOptions } from './report/summary-text.js';
export { type RunOptions, type RunResult, run } from './run/run.js';
