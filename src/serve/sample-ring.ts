import { SAMPLE_FIELDS, UNSCALED_FIELDS } from '../record/capture-format.js';
import type { SampleValues } from '../record/capture-writer.js';

const FIELDS = SAMPLE_FIELDS.length;
/** A sample that moves less than this from the last one stored is not stored, for up to STILL_MS. */
const STILL_BYTES = 256 * 1024;
const STILL_MS = 60_000;

/**
 * One tier: the last `capacity` samples, oldest overwritten first. Its columns start small and double as
 * they fill: a cgroup that holds still stores few samples (see SampleRing.push) and so takes little.
 */
class Tier {
  /** ms, as given to push. */
  times = new Float64Array(0);
  /**
   * Float32: 4 bytes a value instead of 8. A byte count of 1 TiB keeps 64 KiB of precision, more than the
   * KiB the capture records, and counters stay exact below 16 million.
   */
  values = new Float32Array(0);
  next = 0;
  size = 0;

  constructor(readonly capacity: number) {}

  push(timeMs: number, values: SampleValues): void {
    if (this.size === this.times.length && this.size < this.capacity) this.grow();
    const slot = this.next;
    this.times[slot] = timeMs;
    const base = slot * FIELDS;
    for (let f = 0; f < FIELDS; f++) this.values[base + f] = values[SAMPLE_FIELDS[f] as keyof SampleValues];
    this.next = (slot + 1) % this.times.length;
    if (this.size < this.times.length) this.size++;
  }

  /** Slot of the i-th oldest sample. */
  slot(i: number): number {
    const length = this.times.length;
    return (this.next - this.size + i + length) % length;
  }

  get bytes(): number {
    return this.times.byteLength + this.values.byteLength;
  }

  /** Doubles the columns (up to capacity), the samples kept in order from slot 0. */
  private grow(): void {
    const length = Math.min(this.capacity, Math.max(16, this.times.length * 2));
    const times = new Float64Array(length);
    const values = new Float32Array(length * FIELDS);
    for (let i = 0; i < this.size; i++) {
      const from = this.slot(i);
      times[i] = this.times[from] as number;
      values.set(this.values.subarray(from * FIELDS, (from + 1) * FIELDS), i * FIELDS);
    }
    this.times = times;
    this.values = values;
    this.next = this.size % length;
  }
}

export interface SampleRingOptions {
  /** Samples kept at the coarse rate: 600 at 1 s is 10 minutes. */
  coarseCapacity?: number;
  coarseEveryMs?: number;
  /** Samples kept at the fine rate while the cgroup is hot: 600 at 100 ms is the last minute. */
  fineCapacity?: number;
}

export interface RingSample {
  timeMs: number;
  values: SampleValues;
}

/**
 * The recent past of one cgroup: the last minutes at a coarse rate always, and the last minute at the
 * fine rate while the cgroup is hot (near its limit, or growing fast), so that a post-mortem shows the
 * seconds before a kill sample by sample without every idle cgroup paying for that.
 */
export class SampleRing {
  private readonly coarse: Tier;
  private fine: Tier | undefined;
  private readonly coarseEveryMs: number;
  private readonly fineCapacity: number;
  private lastCoarseMs = Number.NEGATIVE_INFINITY;
  /** The last sample the coarse tier stored, to tell whether the next one says anything new. */
  private readonly stored = new Float64Array(FIELDS);
  /**
   * The values last pushed: the recorder pushes the same object again while a cgroup holds still, and it
   * cannot differ from what was stored then, so it is not compared field by field (500 cgroups a second).
   */
  private lastPushed: SampleValues | undefined;

  constructor(options: SampleRingOptions = {}) {
    this.coarse = new Tier(options.coarseCapacity ?? 600);
    this.coarseEveryMs = options.coarseEveryMs ?? 1000;
    this.fineCapacity = options.fineCapacity ?? 600;
  }

  /** Bytes a ring holds at most with these options, without and with its fine tier. */
  static bytesFor(options: SampleRingOptions = {}): { coarse: number; fine: number } {
    const per = 8 + 4 * FIELDS;
    return { coarse: (options.coarseCapacity ?? 600) * per, fine: (options.fineCapacity ?? 600) * per };
  }

  /** Keeps samples at the fine rate from now on, or stops (freeing the fine tier). */
  setFine(on: boolean): void {
    if (on && !this.fine) this.fine = new Tier(this.fineCapacity);
    else if (!on) this.fine = undefined;
  }

  get isFine(): boolean {
    return this.fine !== undefined;
  }

  /**
   * Adds a sample: to the fine tier while there is one, and to the coarse tier at its own rate when it
   * differs from the last one stored there, or a minute has passed. A cgroup that holds still so keeps a
   * few samples that cover a long time, and a chart of them draws the same flat line.
   */
  push(timeMs: number, values: SampleValues): void {
    this.fine?.push(timeMs, values);
    if (timeMs - this.lastCoarseMs < this.coarseEveryMs) return;
    const again = values === this.lastPushed;
    this.lastPushed = values;
    if (timeMs - this.lastCoarseMs < STILL_MS && (again || !this.differs(values))) return;
    this.coarse.push(timeMs, values);
    this.lastCoarseMs = timeMs;
    for (let f = 0; f < FIELDS; f++) this.stored[f] = values[SAMPLE_FIELDS[f] as keyof SampleValues];
  }

  /** Whether `values` moved from the last stored sample: bytes by a quarter MiB or 0.5 % of usage, counters at all. */
  private differs(values: SampleValues): boolean {
    const noise = Math.max(STILL_BYTES, values.usage * 0.005);
    for (let f = 0; f < FIELDS; f++) {
      const field = SAMPLE_FIELDS[f] as keyof SampleValues;
      const moved = Math.abs(values[field] - (this.stored[f] as number));
      if (UNSCALED_FIELDS.has(field) ? moved > 0 : moved >= noise) return true;
    }
    return false;
  }

  /** Time of the latest sample, or undefined before the first. */
  get lastMs(): number | undefined {
    const tier = this.fine && this.fine.size > 0 ? this.fine : this.coarse;
    return tier.size > 0 ? tier.times[tier.slot(tier.size - 1)] : undefined;
  }

  /** Every sample held, oldest first: the coarse ones from before the fine tier begins, then the fine. */
  samples(): RingSample[] {
    const out: RingSample[] = [];
    const fine = this.fine && this.fine.size > 0 ? this.fine : undefined;
    const fineStart = fine ? (fine.times[fine.slot(0)] as number) : Number.POSITIVE_INFINITY;
    collect(this.coarse, out, fineStart);
    if (fine) collect(fine, out, Number.POSITIVE_INFINITY);
    return out;
  }

  get bytes(): number {
    return this.coarse.bytes + (this.fine?.bytes ?? 0);
  }
}

function collect(tier: Tier, out: RingSample[], before: number): void {
  for (let i = 0; i < tier.size; i++) {
    const slot = tier.slot(i);
    const timeMs = tier.times[slot] as number;
    if (timeMs >= before) break;
    const values = {} as SampleValues;
    const base = slot * FIELDS;
    for (let f = 0; f < FIELDS; f++) {
      values[SAMPLE_FIELDS[f] as keyof SampleValues] = tier.values[base + f] as number;
    }
    out.push({ timeMs, values });
  }
}
