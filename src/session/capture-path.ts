import fs from 'node:fs';
import path from 'node:path';
import { formatUtcStamp } from '../format.js';

/**
 * Where a run's capture goes when -o is not given: $HEADROOM_HOME (default .headroom/ in the working
 * directory), named after the component or the program and the start time. An existing file is never
 * reused: a numeric suffix is added instead.
 */
export function defaultCapturePath(options: {
  home: string;
  component: string | undefined;
  command: string;
  startMs: number;
}): string {
  makeDirectories(options.home);
  const base =
    (options.component ?? path.basename(options.command)).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) ||
    'job';
  const stamp = formatUtcStamp(options.startMs);
  for (let n = 1; ; n++) {
    const file = path.join(options.home, `${base}-${stamp}${n === 1 ? '' : `-${n}`}.jsonl`);
    if (!fs.existsSync(file)) return file;
  }
}

/**
 * `<home>/<name>.jsonl`, or `<name>-2.jsonl` and so on when that exists: an earlier run's capture is never
 * overwritten, and the user is told where this one goes instead.
 */
export function namedCapturePath(home: string, name: string, say: (line: string) => void): string {
  makeDirectories(home);
  const base = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'job';
  const first = path.join(home, `${base}.jsonl`);
  for (let n = 1; ; n++) {
    const file = n === 1 ? first : path.join(home, `${base}-${n}.jsonl`);
    if (fs.existsSync(file)) continue;
    if (n > 1)
      say(`${path.basename(first)} exists (an earlier run's); this capture goes to ${path.basename(file)}`);
    return file;
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir loops forever on some pseudo file systems
 * (seen with a path under /proc), and a wrong $HEADROOM_HOME must give an error, not a hang.
 */
function makeDirectories(dir: string): void {
  const absolute = path.resolve(dir);
  if (fs.existsSync(absolute)) return;
  makeDirectories(path.dirname(absolute));
  fs.mkdirSync(absolute);
}
