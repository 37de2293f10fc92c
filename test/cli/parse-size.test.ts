import { describe, expect, it } from 'vitest';
import { parseMemory, parseMemorySwap, parseSize } from '../../src/cli/parse-size.js';
import { headroomError } from '../helpers/errors.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('parseSize reads sizes as docker run does', () => {
  it.each([
    ['512m', 512 * MiB],
    ['2g', 2 * GiB],
    ['2G', 2 * GiB],
    ['2gb', 2 * GiB],
    ['2GiB', 2 * GiB],
    ['1.5g', 1.5 * GiB],
    ['64k', 64 * 1024],
    ['1048576', MiB],
    ['100b', 100],
  ])('%s', (text, bytes) => {
    expect(parseSize(text, '--memory')).toBe(bytes);
  });

  it.each(['abc', '-1', '', 'g', '1x', '1.2.3m', '12 mb extra'])('rejects "%s" naming the option', (text) => {
    expect(() => parseSize(text, '--memory')).toThrow(headroomError('E_BAD_SIZE'));
    expect(() => parseSize(text, '--memory')).toThrow(/^--memory: /);
  });

  it('rejects 0 and sizes below docker minimum for --memory', () => {
    expect(() => parseMemory('0')).toThrow(/greater than 0/);
    expect(() => parseMemory('5m')).toThrow(/minimum of 6m/);
    expect(parseMemory('6m')).toBe(6 * MiB);
  });

  it('--memory-swap: -1 is unlimited, it needs --memory and must not be below it', () => {
    expect(parseMemorySwap('-1', GiB)).toBeNull();
    expect(parseMemorySwap('2g', GiB)).toBe(2 * GiB);
    expect(parseMemorySwap('1g', GiB)).toBe(GiB);
    expect(() => parseMemorySwap('512m', GiB)).toThrow(/at least --memory/);
    expect(() => parseMemorySwap('2g', undefined)).toThrow(/needs --memory/);
  });
});
