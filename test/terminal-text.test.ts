import { describe, expect, it } from 'vitest';
import { sanitizeForTerminal } from '../src/terminal-text.js';

describe('sanitizeForTerminal', () => {
  it('leaves ordinary text, including non-ASCII, alone', () => {
    const text = 'python3 etl.py --out=/tmp/données ✓ 日本';
    expect(sanitizeForTerminal(text)).toBe(text);
  });

  it('writes control characters as visible escapes', () => {
    expect(sanitizeForTerminal('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
    expect(sanitizeForTerminal('one\ntwo\rthree\tfour')).toBe('one\\ntwo\\rthree\\tfour');
    expect(sanitizeForTerminal('\x00\x07\x7f')).toBe('\\x00\\x07\\x7f');
    expect(sanitizeForTerminal('c1 \u009b31m')).toBe('c1 \\x9b31m');
  });

  it('escapes bidi overrides and line separators', () => {
    expect(sanitizeForTerminal('abc\u202edcba')).toBe('abc\\u202edcba');
    expect(sanitizeForTerminal('x\u2028y\u2066z')).toBe('x\\u2028y\\u2066z');
  });
});
