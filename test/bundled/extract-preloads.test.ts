import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractPreloads } from '../../src/bundled/extract-preloads.js';
import { privateBases } from '../../src/bundled/private-dir.js';
import { HeadroomError } from '../../src/errors.js';

const assets: Record<string, string> = {
  'node-preload.cjs': 'module.exports = 1;\n',
  'python/sitecustomize.py': 'import _headroom_profile\n',
};
const index = { names: Object.keys(assets), hash: 'ab'.repeat(32) };
const read = (name: string) => new TextEncoder().encode(assets[name]);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'headroom-extract-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('extractPreloads', () => {
  it('writes the files into a 0700 directory named by the hash, and leaves them when they match', () => {
    const dir = extractPreloads(index, read, [path.join(tmp, 'base')]);
    expect(dir).toBe(path.join(tmp, 'base', `preload-${'ab'.repeat(8)}`));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(dir, 'python', 'sitecustomize.py'), 'utf8')).toBe(
      assets['python/sitecustomize.py'],
    );
    const before = fs.statSync(path.join(dir, 'node-preload.cjs')).ino;
    extractPreloads(index, read, [path.join(tmp, 'base')]);
    expect(fs.statSync(path.join(dir, 'node-preload.cjs')).ino).toBe(before);
  });

  it('rewrites a file that was altered or cut short, and replaces a symlink rather than following it', () => {
    const dir = extractPreloads(index, read, [tmp]);
    fs.writeFileSync(path.join(dir, 'node-preload.cjs'), 'process.exit(9)');
    const outside = path.join(tmp, 'outside.py');
    fs.writeFileSync(outside, 'evil');
    fs.rmSync(path.join(dir, 'python', 'sitecustomize.py'));
    fs.symlinkSync(outside, path.join(dir, 'python', 'sitecustomize.py'));
    extractPreloads(index, read, [tmp]);
    expect(fs.readFileSync(path.join(dir, 'node-preload.cjs'), 'utf8')).toBe(assets['node-preload.cjs']);
    expect(fs.lstatSync(path.join(dir, 'python', 'sitecustomize.py')).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(outside, 'utf8')).toBe('evil');
  });

  it('passes over a directory others may write into, and a symlink in its place, for the next base', () => {
    const open = path.join(tmp, 'open');
    fs.mkdirSync(path.join(open, `preload-${'ab'.repeat(8)}`), { recursive: true });
    fs.chmodSync(path.join(open, `preload-${'ab'.repeat(8)}`), 0o777);
    const linked = path.join(tmp, 'linked');
    fs.mkdirSync(linked);
    fs.symlinkSync(tmp, path.join(linked, `preload-${'ab'.repeat(8)}`));
    const dir = extractPreloads(index, read, [open, linked, path.join(tmp, 'good')]);
    expect(dir.startsWith(path.join(tmp, 'good'))).toBe(true);
  });

  it('says which places it tried and why when none can be used', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    const attempt = () => extractPreloads(index, read, [path.join(file, 'below')]);
    expect(attempt).toThrow(HeadroomError);
    expect(attempt).toThrow(/no private directory.*a-file\/below.*ENOTDIR.*set HEADROOM_HOME/);
    expect(() => extractPreloads(index, read, [])).toThrow(/set XDG_RUNTIME_DIR, HEADROOM_HOME or HOME/);
  });
});

describe('privateBases', () => {
  it('takes the runtime directory, then $HEADROOM_HOME, then the cache, never /tmp', () => {
    expect(
      privateBases({ XDG_RUNTIME_DIR: '/run/user/1000', HEADROOM_HOME: 'caps', HOME: '/home/u' }, '/work'),
    ).toEqual(['/run/user/1000/headroom', '/work/caps/runtime', '/home/u/.cache/headroom']);
    expect(privateBases({ XDG_CACHE_HOME: '/c' }, '/')).toEqual(['/c/headroom']);
    expect(privateBases({}, '/')).toEqual([]);
  });
});
