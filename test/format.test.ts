import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, formatUtcStamp } from '../src/format.js';

describe('format', () => {
  it('prints bytes in binary units with about three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(240 * 1024 * 1024)).toBe('240 MiB');
    expect(formatBytes(-12.5 * 1024 * 1024)).toBe('-12.5 MiB');
    expect(formatBytes(null)).toBe('none');
  });

  it('prints durations for people', () => {
    expect(formatDuration(850)).toBe('0.85s');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(61_234)).toBe('1m01.2s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
  });

  it('prints a share, or nothing without a whole', () => {
    expect(formatPercent(1, 3)).toBe('33%');
    expect(formatPercent(1, null)).toBe('');
  });
});

describe('formatUtcStamp', () => {
  it('gives the UTC time as toISOString does, without its separators and milliseconds', () => {
    for (const ms of [
      0,
      1796641689123,
      Date.UTC(2027, 0, 9, 3, 4, 5, 999),
      Date.UTC(1999, 11, 31, 23, 59, 59),
    ]) {
      const expected = new Date(ms)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      expect(formatUtcStamp(ms)).toBe(expected);
    }
    expect(formatUtcStamp(Date.UTC(2026, 11, 7, 11, 8, 9))).toBe('20261207T110809Z');
  });
});
