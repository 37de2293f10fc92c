import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_NAME } from '../src/package-root.js';
import { repoRoot } from './helpers/run-cli.js';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
};
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

describe("the package's name", () => {
  it('is the one the README installs and imports, and the one packageRoot looks for; the command stays headroom', () => {
    expect(manifest.name).toBe(PACKAGE_NAME);
    const installs = [...readme.matchAll(/npm install -g (\S+)/g)].map((match) => match[1]);
    expect(installs.length).toBeGreaterThan(0);
    for (const name of installs) expect(name).toBe(manifest.name);
    const imports = [...readme.matchAll(/from '([^'.][^']*)';/g)].map((match) => match[1]);
    for (const name of imports) expect(name).toBe(manifest.name);
    expect(Object.keys(manifest.bin)).toEqual(['headroom']);
  });
});
