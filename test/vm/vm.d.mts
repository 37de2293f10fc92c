// Types of vm.mjs, which stays plain JavaScript so that `node test/vm/run-in-vm.mjs` runs it as is.
export const VM_DIR: string;
export const REPO_ROOT: string;
export const CASES_DIR: string;
export const DEFAULT_CASE_TIMEOUT_S: number;
export function cacheDir(): string;
export function rootfsKey(): string;
export function listCases(): string[];
export function caseTimeout(name: string, fallback?: number): number;
export function requireTools(names: string[]): Record<string, string>;

type Log = (message: string) => void;

export function ensureRootfs(options?: {
  log?: Log;
}): Promise<{ dir: string; key: string; built: boolean; ms: number }>;

export function buildPayload(options: {
  workDir: string;
  runId: string;
  cases?: string[];
  command?: string;
  caseTimeoutS?: number;
  log?: Log;
}): Promise<{ image: string; ms: number }>;

export interface BootResult {
  ms: number;
  /** From qemu's start to the guest's START and DONE lines (null when never seen), within half a second. */
  startedMs: number | null;
  doneMs: number | null;
  timedOut: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  qemuOutput: string;
  consoleLog: string;
  resultsLog: string;
}

export function boot(options: {
  rootfsDir: string;
  payloadImage: string;
  workDir: string;
  timeoutMs: number;
  memoryMiB?: number;
  cpus?: number;
  onLine?: (line: string) => void;
}): Promise<BootResult>;

export interface CaseResult {
  name: string;
  timeoutS: number;
  /** pass, fail, timeout, or incomplete when the run ended inside the case. */
  status: 'pass' | 'fail' | 'timeout' | 'incomplete';
  exitStatus: number | null;
  ms: number | null;
  output: string;
  /** Files the case left in $HRVM_RESULTS, by name. */
  files: Record<string, Buffer>;
}

export interface SuiteResults {
  started: { count: number; kernel: string; cgroupFs: string } | null;
  done: { passed: number; failed: number } | null;
  cases: Map<string, CaseResult>;
}

export function parseResults(text: string, runId: string): SuiteResults;

export interface VmRun {
  runId: string;
  selected: string[];
  results: SuiteResults;
  vm: BootResult;
  consoleTail: string;
  workDir: string;
  times: { rootfsMs: number; rootfsBuilt: boolean; payloadMs: number; vmMs: number };
}

export function runInVm(options?: {
  cases?: string[];
  command?: string;
  caseTimeoutS?: number;
  timeoutMs?: number;
  keep?: boolean;
  log?: Log;
  onLine?: (line: string) => void;
}): Promise<VmRun>;
