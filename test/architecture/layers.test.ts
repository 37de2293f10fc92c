import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-cli.js';

/**
 * The layers of src/, lowest first: a module may import its own layer and the layers below it, never one
 * above. The README's architecture section names them in this order.
 */
const LAYERS = [
  'base', // errors, format, linear-fit, version, package-root, terminal-text, last-at-or-before
  'kernel',
  'job',
  'bundled',
  'config',
  'record',
  'session',
  'profile',
  'analyze',
  'guard',
  'serve',
  'report',
  'run',
  'cli',
  'index',
] as const;

/**
 * Upward imports that are known and still to be moved (issue 14). The test fails on any other, and on an
 * entry here that no longer exists, so the list only shrinks.
 */
const KNOWN_UPWARD = new Set<string>([
  // The profile records are part of the capture format the reader decodes.
  'record/capture-reader.ts -> profile/profile-decoder.ts',
  'record/capture-reader.ts -> profile/profile-model.ts',
]);

const src = path.join(repoRoot, 'src');

function layerOf(file: string): (typeof LAYERS)[number] {
  const relative = path.relative(src, file);
  const top = relative.split(path.sep)[0] ?? '';
  if (top === 'index.ts') return 'index';
  if (!relative.includes(path.sep)) return 'base';
  const layer = LAYERS.find((name) => name === top);
  if (!layer) throw new Error(`src/${relative}: directory ${top} is in no layer; add it to LAYERS`);
  return layer;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import, static, dynamic or type-only, as "from -> to" (paths under src/). */
function imports(): Array<{ from: string; to: string }> {
  const found: Array<{ from: string; to: string }> = [];
  for (const file of sourceFiles(src)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'));
      found.push({ from: file, to: target });
    }
  }
  return found;
}

describe('the layers of src/', () => {
  it('imports nothing from a layer above its own', () => {
    const upward = new Set<string>();
    for (const { from, to } of imports()) {
      if (LAYERS.indexOf(layerOf(to)) > LAYERS.indexOf(layerOf(from)))
        upward.add(`${path.relative(src, from)} -> ${path.relative(src, to)}`);
    }
    const unknown = [...upward].filter((edge) => !KNOWN_UPWARD.has(edge)).sort();
    const gone = [...KNOWN_UPWARD].filter((edge) => !upward.has(edge)).sort();
    expect(unknown, 'upward imports (move the shared code down, or the caller up)').toEqual([]);
    expect(gone, 'entries of KNOWN_UPWARD that no longer exist: remove them').toEqual([]);
  });

  it('finds the imports it checks', () => {
    // A parse that found nothing would pass the check above whatever the code does.
    const edges = imports();
    expect(edges.length).toBeGreaterThan(300);
    expect(
      edges.some(({ from, to }) => from.endsWith('cli/main.ts') && to.includes(`${path.sep}cli${path.sep}`)),
    ).toBe(true);
  });

  it("is the order the README's architecture section names, highest first", () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const named = [...readme.matchAll(/^src\/(index\.ts|\*\.ts|[a-z]+\/) /gm)].map((m) =>
      m[1] === 'index.ts' ? 'index' : m[1] === '*.ts' ? 'base' : (m[1] ?? '').slice(0, -1),
    );
    expect(named).toEqual([...LAYERS].reverse());
  });
});
