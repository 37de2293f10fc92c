import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parsePlainOptions } from '../../src/cli/plain-options.js';
import { RUN_OPTIONS, runCommand } from '../../src/cli/run.js';

const STOP = 'stop before the job';

/** What headroom's own commander program (runCommand) hands run's action for `args`; the job is not run. */
function commanderReads(args: string[]): { flags: Record<string, unknown>; operands: string[] } {
  let seen: { flags: Record<string, unknown>; operands: string[] } | undefined;
  const program = new Command('headroom').enablePositionalOptions().exitOverride();
  runCommand(program, { jobStatus: () => {}, failedAfterOutput: () => {} });
  for (const command of program.commands) command.exitOverride();
  program.hook('preAction', (_program, action) => {
    seen = { flags: { ...action.opts() }, operands: action.processedArgs[0] as string[] };
    throw new Error(STOP);
  });
  try {
    program.parse(['run', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof Error) || error.message !== STOP) throw error;
  }
  if (!seen) throw new Error('commander ran no action');
  return seen;
}

describe('parsePlainOptions', () => {
  // Each line is read as commander reads it; they cover every option form the fast path takes.
  const plain: string[][] = [
    ['--', 'true'],
    ['true'],
    ['-m', '512m', '--', 'python3', 'etl.py'],
    ['--memory=2g', 'python3', '-c', 'print(1)'],
    ['-m2g', '--memory-swap', '-1', '--', 'x'],
    ['-q', '--no-guard', '--', 'x'],
    ['--guard', 'watch', '--on-limit', 'reclaim', '--watch-threshold', '90%', '--', 'x', '--', 'y'],
    ['--no-guard', '--guard', 'knobs', 'x'],
    ['--guard', 'watch', '--no-guard', 'x'],
    [
      '--component',
      'worker',
      '--profile',
      '--python-profiler',
      'tracemalloc',
      '-o',
      'out.jsonl',
      '--report',
      'r.html',
      'x',
    ],
    ['--interval', '50', '--grace', '0', '--node-processes', '4', '--observe', 'x'],
    ['--interval=', 'x'],
    ['--component', '--', 'x'],
    ['--', '--', 'x'],
    ['--', '-x'],
    ['-', 'x'],
    ['x', '--memory', '1g', '--help'],
    ['-m', '1g', '-m', '2g', 'x'],
  ];
  for (const args of plain) {
    it(`reads ${JSON.stringify(args)} as commander does`, () => {
      const read = parsePlainOptions(args, RUN_OPTIONS);
      expect(read).toBeDefined();
      expect(read).toEqual(commanderReads(args));
    });
  }

  it('gives the defaults commander gives', () => {
    expect(parsePlainOptions(['true'], RUN_OPTIONS)?.flags).toEqual({
      interval: '100',
      grace: '10',
      guard: 'knobs',
      nodeProcesses: '1',
      onLimit: 'term',
      watchThreshold: '95',
    });
  });

  // Commander reads these (or refuses them, with its message): the fast path leaves them to it.
  const notPlain: string[][] = [
    [],
    ['--'],
    ['-m', '1g'],
    ['--memory'],
    ['--help', 'x'],
    ['-h'],
    ['-V', 'x'],
    ['--bogus', 'x'],
    ['-qm', '1g', 'x'],
    ['--profile=yes', 'x'],
    ['--quiet=', 'x'],
    ['-5', 'x'],
  ];
  for (const args of notPlain) {
    it(`leaves ${JSON.stringify(args)} to commander`, () => {
      expect(parsePlainOptions(args, RUN_OPTIONS)).toBeUndefined();
    });
  }

  it('refuses an option spec it cannot read, rather than guess', () => {
    expect(() => parsePlainOptions(['x'], [{ flags: '--size [n]', description: '' }])).toThrow(/cannot read/);
  });

  it('gives a "--no-x" without an "--x" commander\'s default of true', () => {
    const specs = [{ flags: '--no-color', description: '' }];
    expect(parsePlainOptions(['x'], specs)?.flags).toEqual({ color: true });
    expect(parsePlainOptions(['--no-color', 'x'], specs)?.flags).toEqual({ color: false });
  });
});
