/**
 * Secrets in command lines: `--password=…`, `--token …`, `PGPASSWORD=…`-style assignments, `token=` in a
 * query string and URLs with user:password. Reports and the flight recorder's post-mortems show other
 * people's command lines, so what looks like a secret is replaced by {@link REDACTED} before it reaches
 * them. It errs towards hiding: a harmless `--auth-token-count=3` is hidden too; what it must never do is
 * let `--password=hunter2` through.
 */
export const REDACTED = '***';

// A name ends in one of these words: `--token-file path` names a file, not a secret, so it is kept.
const SECRET_WORD =
  '(?:passw(?:or)?d|pwd|pass|token|secret|api[-_]?key|access[-_]?key|private[-_]?key|credentials?|auth)';

/** `--password=x`, `-password x`: an option whose name ends in a secret word, its value joined or next. */
const OPTION_NAME = new RegExp(String.raw`^--?[\w.-]*${SECRET_WORD}$`, 'i');
const OPTION_JOINED = new RegExp(String.raw`^(--?[\w.-]*${SECRET_WORD})=(.+)$`, 'is');

/** `--password hunter2` or `--password=hunter2` inside a string (a shell command line). */
const OPTION_IN_TEXT = new RegExp(
  String.raw`(^|[\s"'])(--?[\w.-]*${SECRET_WORD})(=|\s+)(?!-)([^\s"']+)`,
  'gi',
);

/**
 * `PGPASSWORD=x`, `MYSQL_PWD=x`, `password=x`, `api_key=x` in a query string: a name ending in a secret
 * word, then `=`. `PWD=/home/x` (the working directory) and `OLDPWD` are not secrets: `pwd` counts only
 * after an underscore or as `_PWD`.
 */
const ASSIGNMENT =
  /(^|[^\w-])((?:[a-z0-9]*_)*(?:[a-z0-9]*(?:passw(?:or)?d|token|secret|api_?key|access_?key|private_?key|credentials?)|[a-z0-9]*_pwd|pass))=([^\s&;,"']+)/gi;

/** `postgres://user:password@host`: the password goes, the user stays. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi;

/** One string with every secret in it replaced. */
export function redactText(text: string): string {
  // Most strings (names, paths, figures) hold none of the three characters every pattern needs.
  if (!text.includes('=') && !text.includes('@') && !text.includes('-')) return text;
  return text
    .replace(URL_USERINFO, `$1:${REDACTED}@`)
    .replace(
      OPTION_IN_TEXT,
      (_whole, before: string, name: string, joiner: string) => `${before}${name}${joiner}${REDACTED}`,
    )
    .replace(ASSIGNMENT, (_whole, before: string, name: string) => `${before}${name}=${REDACTED}`);
}

/** A command line as argv: an option that names a secret takes the next argument's value with it. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const joined = OPTION_JOINED.exec(arg);
    if (joined) {
      out.push(`${joined[1]}=${REDACTED}`);
    } else if (OPTION_NAME.test(arg) && i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('-')) {
      out.push(arg, REDACTED);
      i++;
    } else {
      out.push(redactText(arg));
    }
  }
  return out;
}

/**
 * A copy of plain data (JSON-like: objects, arrays, strings, numbers) with every string redacted; arrays
 * of strings are read as argv. Typed arrays and numbers are shared, not copied.
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value) as T;
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    return value.length > 0 && value.every((item) => typeof item === 'string')
      ? redactArgv(value)
      : value.map(redactValue);
  }
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, redactValue(item)]));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item);
  return out;
}
