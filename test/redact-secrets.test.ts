import { describe, expect, it } from 'vitest';
import { REDACTED, redactArgv, redactDeep, redactText } from '../src/redact-secrets.js';

describe('redactArgv', () => {
  it.each([
    [
      ['app', '--password=hunter2'],
      ['app', `--password=${REDACTED}`],
    ],
    [
      ['app', '--password', 'hunter2', '--verbose'],
      ['app', '--password', REDACTED, '--verbose'],
    ],
    [
      ['app', '-token', 'abc'],
      ['app', '-token', REDACTED],
    ],
    [
      ['app', '--db-pass=x1'],
      ['app', `--db-pass=${REDACTED}`],
    ],
    [
      ['app', '--api-key=K'],
      ['app', `--api-key=${REDACTED}`],
    ],
    [
      ['app', '--client_secret', 's'],
      ['app', '--client_secret', REDACTED],
    ],
    [
      ['env', 'PGPASSWORD=hunter2', 'psql'],
      ['env', `PGPASSWORD=${REDACTED}`, 'psql'],
    ],
    [
      ['env', 'MYSQL_PWD=hunter2'],
      ['env', `MYSQL_PWD=${REDACTED}`],
    ],
    [
      ['env', 'AWS_SECRET_ACCESS_KEY=abc'],
      ['env', `AWS_SECRET_ACCESS_KEY=${REDACTED}`],
    ],
    [
      ['curl', 'https://x/y?token=abc&page=2'],
      ['curl', `https://x/y?token=${REDACTED}&page=2`],
    ],
    [
      ['psql', 'postgres://etl:hunter2@db:5432/x'],
      ['psql', `postgres://etl:${REDACTED}@db:5432/x`],
    ],
  ])('hides the secret in %j', (argv, expected) => {
    expect(redactArgv(argv)).toEqual(expected);
  });

  it.each([
    [['python3', 'etl.py', '--rows=5', '--input', 'data.csv']],
    [['env', 'PWD=/home/x', 'OLDPWD=/tmp']],
    [['app', '--token-file', '/run/secrets/t']],
    [['app', '--password']],
    [['app', '--password', '--verbose']],
    [['ssh', 'user@host']],
    [['git', 'clone', 'https://github.com/x/y']],
  ])('keeps %j as it is', (argv) => {
    expect(redactArgv(argv)).toEqual(argv);
  });
});

describe('redactText', () => {
  it('hides secrets in a shell command line, joined or not, quoted or not', () => {
    const text = `sh -c "app --password hunter2 --user=me" 'x --token=t0k' PGPASSWORD=p1 mysql://u:p2@h`;
    const out = redactText(text);
    for (const secret of ['hunter2', 't0k', 'p1', 'p2']) expect(out).not.toContain(secret);
    expect(out).toContain('--user=me');
    expect(out).toContain('mysql://u:***@h');
  });

  it('leaves a string with nothing secret alone', () => {
    const text = 'python3 etl.py --rows=5 /data/in-put.csv user@example.org';
    expect(redactText(text)).toBe(text);
  });
});

describe('redactDeep', () => {
  it('redacts every string of nested data and reads string arrays as argv', () => {
    const series = new Float64Array([1, 2]);
    const data = {
      command: ['app', '--password', 'hunter2'],
      processes: [{ name: 'app', argv: ['app', '--secret=s3'], rss: 5 }],
      cause: 'app --token=t0k filled memory',
      series,
      none: null,
    };
    const out = redactDeep(data);
    expect(JSON.stringify(out)).not.toMatch(/hunter2|s3|t0k/);
    expect(out.command).toEqual(['app', '--password', REDACTED]);
    expect(out.processes[0]?.rss).toBe(5);
    expect(out.series).toBe(series);
    expect(out.none).toBeNull();
    // The input is not changed.
    expect(data.command[2]).toBe('hunter2');
  });
});
