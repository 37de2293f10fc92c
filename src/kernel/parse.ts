import { kernelFileError } from './errors.js';

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
  if (!/^\d+$/.test(value)) throw kernelFileError(file, `expected a number, found "${truncate(value)}"`);
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
        throw kernelFileError(
          file,
          `expected "key value" lines, found "${truncate(text.slice(start, end))}"`,
        );
      }
      const raw = text.slice(space + 1, end);
      // Number('') is 0, so an empty value would pass for a zero counter.
      const value = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(value)) {
        throw kernelFileError(file, `bad value in line "${truncate(text.slice(start, end))}"`);
      }
      result.set(text.slice(start, space), value);
    }
    start = end + 1;
  }
  return result;
}

/** The keys of a flat-keyed file, read either way below. A Map is one. */
export interface FlatKeyed {
  get(key: string): number | undefined;
  has(key: string): boolean;
}

/**
 * Looks single keys up in flat-keyed text without splitting it: ten times a second a sampler needs a
 * handful of the seventy lines of a v1 memory.stat. Only the lines looked up are checked; full reads use
 * parseFlatKeyed, which checks them all.
 */
export function lookupFlatKeyed(text: string, file: string): FlatKeyed {
  const find = (key: string): number => {
    if (text.startsWith(`${key} `)) return key.length + 1;
    const at = text.indexOf(`\n${key} `);
    return at === -1 ? -1 : at + key.length + 2;
  };
  return {
    has: (key) => find(key) !== -1,
    get(key) {
      const start = find(key);
      if (start === -1) return undefined;
      const { value, end } = decimalAt(text, start);
      if (end === start || (end < text.length && text.charCodeAt(end) !== 10))
        throw kernelFileError(file, `bad value for "${key}"`);
      return value;
    },
  };
}

/**
 * The decimal number whose digits start at `start` in `text`, and where its digits end (`start` when
 * there are none): the caller says what may follow them.
 */
export function decimalAt(text: string, start: number): { value: number; end: number } {
  let value = 0;
  let end = start;
  for (let code = text.charCodeAt(end); code >= 48 && code <= 57; code = text.charCodeAt(++end))
    value = value * 10 + (code - 48);
  return { value, end };
}

/** Every line checked (full reads), or only the keys asked for (the fast path). */
export function readFlatKeyed(text: string, file: string, full: boolean): FlatKeyed {
  return full ? parseFlatKeyed(text, file) : lookupFlatKeyed(text, file);
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
      if (!Number.isFinite(value)) throw kernelFileError(file, `bad PSI line "${truncate(line)}"`);
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
  if (!some) throw kernelFileError(file, 'no "some" line');
  const full = lines.get('full');
  return full ? { some, full } : { some };
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
