/**
 * Decides whose PSS to read, within a share of wall time for all processes together: reading
 * smaps_rollup walks every mapping (measured here: 50 µs for a small process, 9 ms for a 140 MiB one),
 * so a per-process allowance would grow with the process count. Processes take turns, oldest reading
 * first; a new process goes to the front of the line.
 */
export class PssBudget {
  private readonly order: number[] = [];
  private readonly lastRead = new Map<number, number>();
  private cursor = 0;
  private balanceMs: number;
  private lastTickMs: number | undefined;

  constructor(
    /** Share of wall time PSS reads may take. */
    private readonly share = 0.001,
    /** No process is read more often than this. */
    private readonly minAgeMs = 5000,
    /** Time saved up while idle is capped, so that a burst never stalls one tick for long. */
    private readonly maxBalanceMs = 20,
  ) {
    this.balanceMs = maxBalanceMs;
  }

  add(pid: number): void {
    this.order.splice(this.cursor, 0, pid);
  }

  remove(pid: number): void {
    const at = this.order.indexOf(pid);
    if (at === -1) return;
    this.order.splice(at, 1);
    if (at < this.cursor) this.cursor--;
    this.lastRead.delete(pid);
  }

  /** Calls `read` for as many processes as the budget allows now; `read` returns what it cost in ms. */
  spend(timeMs: number, read: (pid: number) => number): void {
    if (this.lastTickMs !== undefined) {
      this.balanceMs = Math.min(this.maxBalanceMs, this.balanceMs + (timeMs - this.lastTickMs) * this.share);
    }
    this.lastTickMs = timeMs;
    for (let visited = 0; visited < this.order.length && this.balanceMs > 0; visited++) {
      if (this.cursor >= this.order.length) this.cursor = 0;
      const pid = this.order[this.cursor++] as number;
      const last = this.lastRead.get(pid);
      if (last !== undefined && timeMs - last < this.minAgeMs) continue;
      this.balanceMs -= read(pid);
      this.lastRead.set(pid, timeMs);
    }
  }
}
