const NAMED: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };

/**
 * Makes text from a process (names, argv, paths) safe to print: control characters could move the
 * cursor, clear the screen or forge lines of our output, and bidi overrides could reorder what is shown.
 * They are written as visible escapes instead.
 */
export function sanitizeForTerminal(text: string): string {
  let out = '';
  let clean = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isUnsafe(code)) continue;
    out += text.slice(clean, i) + visibleEscape(code);
    clean = i + 1;
  }
  return clean === 0 ? text : out + text.slice(clean);
}

function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function visibleEscape(code: number): string {
  const named = NAMED[code];
  if (named) return named;
  const hex = code.toString(16).padStart(2, '0');
  return code <= 0xff ? `\\x${hex}` : `\\u${hex.padStart(4, '0')}`;
}
