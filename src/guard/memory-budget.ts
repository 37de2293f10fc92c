import { EventEmitter } from 'node:events';
import { HeadroomError } from '../errors.js';
import {
  type CgroupReader,
  effectiveLimit,
  type HostPaths,
  locateMemoryCgroup,
  openCgroupReader,
  realHost,
} from '../kernel/index.js';

/** The memory a process may still use, as its container's kernel counts it. */
export interface BudgetState {
  /** The limit that applies (the lowest over all ancestors), bytes; null when there is none. */
  limit: number | null;
  /** The cgroup's usage now, page cache included. */
  usage: number;
  /** Usage minus inactive page cache: what the kubelet and docker stats count. */
  workingSet: number;
  /** limit − workingSet, never below 0; null without a limit. */
  available: number | null;
  /** workingSet / limit; null without a limit. */
  share: number | null;
}

export interface MemoryBudgetOptions {
  /** Share of the limit (0..1) at which 'pressure' fires; default 0.85. */
  threshold?: number;
  /** How often to look, ms; default 500. The timer never keeps the process alive. */
  intervalMs?: number;
  host?: HostPaths;
}

/** Typed events: 'pressure' when the working set crosses the threshold, 'relief' when it falls back. */
export interface MemoryBudget {
  state(): BudgetState;
  on(event: 'pressure' | 'relief', listener: (state: BudgetState) => void): this;
  off(event: 'pressure' | 'relief', listener: (state: BudgetState) => void): this;
  /** Stops watching and releases the cgroup's files. */
  close(): void;
}

/** Falling this far below the threshold counts as relief, so a job hovering at it is not told twice a second. */
const HYSTERESIS = 0.05;

/**
 * The memory budget of this process's container: the limit that really applies, usage now, what is left,
 * and events when pressure crosses a threshold, so a streaming job can shrink its chunks before the
 * kernel kills it. Throws when there is no memory cgroup to read (not Linux, or no memory controller).
 */
export function memoryBudget(options: MemoryBudgetOptions = {}): MemoryBudget {
  const host = options.host ?? realHost;
  const located = locateMemoryCgroup('self', host);
  if (!located.ok) throw new HeadroomError(located.code, `no memory budget: ${located.message}`);
  const limit = effectiveLimit(located.cgroup).bytes;
  return new Budget(openCgroupReader(located.cgroup), limit, options);
}

class Budget extends EventEmitter implements MemoryBudget {
  private readonly timer: NodeJS.Timeout;
  private pressed = false;

  constructor(
    private readonly reader: CgroupReader,
    private readonly limit: number | null,
    options: MemoryBudgetOptions,
  ) {
    super();
    // The first read takes everything; later ones re-read usage and the breakdown only.
    reader.read(true);
    const threshold = options.threshold ?? 0.85;
    this.timer = setInterval(() => {
      const state = this.state();
      if (state.share === null) return;
      if (!this.pressed && state.share >= threshold) {
        this.pressed = true;
        this.emit('pressure', state);
      } else if (this.pressed && state.share < threshold - HYSTERESIS) {
        this.pressed = false;
        this.emit('relief', state);
      }
    }, options.intervalMs ?? 500);
    this.timer.unref();
  }

  state(): BudgetState {
    const sample = this.reader.read(false);
    const { workingSet } = sample;
    const { limit } = this;
    return {
      limit,
      usage: sample.usage,
      workingSet,
      available: limit === null ? null : Math.max(0, limit - workingSet),
      share: limit === null ? null : workingSet / limit,
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.reader.close();
  }
}
