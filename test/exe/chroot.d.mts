// Types of chroot.mjs, which stays plain JavaScript like test/vm/vm.mjs.
export const EXE_DIR: string;
export const REPO_ROOT: string;
export const EXE_PATH: string;
export const CHROOT_PATH: string;
export const MEMORY_MOUNT: string;
export function cacheDir(): string;
export function rootfsKey(): string;
export function requireTools(names: string[]): Record<string, string>;
export function ensureRootfs(options?: {
  log?: (message: string) => void;
}): Promise<{ dir: string; key: string; built: boolean; ms: number }>;
export function ownMemoryCgroup(): string;
export function childCgroups(dir: string): string[];
export function headroomCgroups(dir: string): string[];
export function until(deadlineMs: number, check: () => boolean | Promise<boolean>): Promise<boolean>;

export interface Sandbox {
  workDir: string;
  /** The chroot's root: the overlay's merged view, or the copy. */
  root: string;
  /** What the runs wrote: the overlay's upper layer, or the whole copy. */
  written: string;
  mode: 'overlay' | 'copy';
  /** The memory cgroup every run goes into, below the test's own. */
  cgroup: string;
  /** Ends, unmounts and removes everything; what had been left behind. */
  cleanup(): Promise<string[]>;
}

export function makeSandbox(options: { rootfsDir: string; log?: (message: string) => void }): Sandbox;
export function limitedCgroup(sandbox: Sandbox, name: string, bytes: number): string;

export interface ChrootResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** headroom's (or the command's) pid: every step to it execs. */
  pid: number;
  timedOut: boolean;
  ms: number;
}

export interface ChrootOptions {
  /** The command's whole environment, besides PATH, HOME and LANG (which it may override). */
  env?: Record<string, string>;
  /** The working directory inside the chroot. */
  cwd?: string;
  timeoutMs?: number;
  /** The cgroup it runs in: the sandbox's, or one below it. */
  cgroup?: string;
  /** The root read-only, as Kubernetes' readOnlyRootFilesystem. */
  readOnly?: boolean;
  /** Host directories bound in, as a pod's hostPath volumes; target is a path inside the chroot. */
  binds?: Array<{ source: string; target: string; readOnly?: boolean }>;
}

export interface ChrootProcess {
  pid: number;
  /** What it has written so far. */
  output(): { stdout: string; stderr: string };
  kill(signal?: NodeJS.Signals): boolean;
  done: Promise<ChrootResult>;
}

export function startInChroot(sandbox: Sandbox, args: string[], options?: ChrootOptions): ChrootProcess;
export function runInChroot(sandbox: Sandbox, args: string[], options?: ChrootOptions): Promise<ChrootResult>;
