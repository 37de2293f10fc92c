import { KernelFileError } from './errors.js';

/**
 * v1 and v2 both write "unlimited" as something other than a number: v2 as "max", v1 as the largest
 * page-aligned signed 64-bit value (9223372036854771712 on 4 KiB pages). Anything at or above 2^62 is
 * treated as no limit, since no machine has that much memory.
 */
const UNLIMITED_FLOOR = 2 ** 62;

export function parseLimit(text: string, file: string): number | null {
  const value = text.trim();
  if (value === 'max') return null;
  const bytes = parseCount(value, file);
  return bytes >= UNLIMITED_FLOOR ? null : bytes;
}

export function parseCount(text: string, file: string): number {
  const value = text.trim();
  if (!/^\d+$/.test(value)) throw new KernelFileError(file, `expected a number, found "${truncate(value)}"`);
  return Number(value);
}

/** "key value" lines, as in memory.stat, memory.events and memory.oom_control. */
export function parseFlatKeyed(text: string, file: string): Map<string, number> {
  const result = new Map<string, number>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const space = text.indexOf(' ', start);
      if (space === -1 || space > end) {
        throw new KernelFileError(
          file,
          `expected "key value" lines, found "${truncate(text.slice(start, end))}"`,
        );
      }
      const raw = text.slice(space + 1, end);
      // Number('') is 0, so an empty value would pass for a zero counter.
      const value = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(value)) {
        throw new KernelFileError(file, `bad value in line "${truncate(text.slice(start, end))}"`);
      }
      result.set(text.slice(start, space), value);
    }
    start = end + 1;
  }
  return result;
}

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Microseconds stalled since boot. */
  total: number;
}

export interface Pressure {
  some: PressureLine;
  full?: PressureLine;
}

/** PSI: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and the same for "full". */
export function parsePressure(text: string, file: string): Pressure {
  const lines = new Map<string, PressureLine>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [kind, ...fields] = line.split(' ');
    const values = new Map(fields.map((field) => field.split('=') as [string, string]));
    const get = (key: string): number => {
      const value = Number(values.get(key));
      if (!Number.isFinite(value)) throw new KernelFileError(file, `bad PSI line "${truncate(line)}"`);
      return value;
    };
    lines.set(kind ?? '', {
      avg10: get('avg10'),
      avg60: get('avg60'),
      avg300: get('avg300'),
      total: get('total'),
    });
  }
  const some = lines.get('some');
  if (!some) throw new KernelFileError(file, 'no "some" line');
  const full = lines.get('full');
  return full ? { some, full } : { some };
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
