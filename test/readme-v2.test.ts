import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/run-cli.js';

/** The command lines of the README's "cgroup v2 under systemd" block, up to `headroom`. */
function readmePrefixes(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('**cgroup v2 under systemd.**'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => line.startsWith('systemd-run'))
    .map((line) => line.slice(0, line.indexOf(' headroom ')));
}

/** The arrays test/vm's cases start headroom with. */
function vmPrefixes(): string[] {
  const lib = fs.readFileSync(path.join(repoRoot, 'test/vm/guest/lib.sh'), 'utf8');
  return [...lib.matchAll(/^delegated_(?:scope|service)=\((.*)\)$/gm)].map((match) => match[1] ?? '');
}

describe("the README's cgroup v2 command lines", () => {
  it('are exactly the ones the v2 VM runs headroom with', () => {
    const readme = readmePrefixes();
    expect(readme).toHaveLength(2);
    expect(readme).toEqual(vmPrefixes());
  });
});
