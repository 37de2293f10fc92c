import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOL_VERSION } from '../src/version.js';
import { repoRoot, runCli, scratchDir } from './helpers/run-cli.js';

describe('the version', () => {
  it('is the package version, in captures and in --version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(TOOL_VERSION).toBe(pkg.version);
    const scratch = scratchDir();
    try {
      const result = await runCli(['--version'], { cwd: scratch.dir });
      expect(result.stdout.trim()).toBe(pkg.version);
    } finally {
      scratch.cleanup();
    }
  });
});
