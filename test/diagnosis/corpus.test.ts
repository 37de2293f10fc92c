import { describe, expect, it } from 'vitest';
import { leftoverCgroups, repoRoot } from '../helpers/run-cli.js';
import { runCorpus } from './run-corpus.js';

describe('the diagnosis corpus (issue 13)', () => {
  it('names the cause of every workload, with no false alarm', async () => {
    const report = await runCorpus({ root: repoRoot, log: (line) => process.stderr.write(`${line}\n`) });
    const table = `${report.score.line}\n${report.lines.join('\n')}`;
    expect(
      {
        right: report.score.right,
        falseAlarms: report.score.falseAlarms,
        workloadsOff: report.score.workloadsOff,
      },
      `the corpus scored ${table}`,
    ).toEqual({ right: report.score.total, falseAlarms: 0, workloadsOff: 0 });
    expect(await leftoverCgroups()).toEqual([]);
  }, 900_000);
});
