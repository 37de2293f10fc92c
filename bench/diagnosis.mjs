// The diagnosis corpus of issue 13 (test/diagnosis): every workload run for real, each verdict scored
// against the cause it should name. The runner is TypeScript shared with corpus.test.ts, so esbuild
// builds it into the bench's temporary directory first.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import esbuild from 'esbuild';
import { ROOT } from './lib/spawn.mjs';

export async function run({ tmp, log }) {
  const outfile = path.join(tmp, 'diagnosis-corpus.mjs');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'test/diagnosis/run-corpus.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    outfile,
  });
  const { runCorpus } = await import(pathToFileURL(outfile).href);
  const report = await runCorpus({ root: ROOT, log });
  const { score } = report;
  const seconds = (report.wallMs / 1000).toFixed(0);
  return [
    {
      id: 'diagnosis.wrong-verdicts',
      name: 'diagnosis: wrong verdicts',
      unit: `of ${score.total}`,
      subject: score.total - score.right,
      target: { max: 0, of: 'subject' },
      note: `${score.line}, in ${seconds} s (2 cases at a time)`,
    },
    {
      id: 'diagnosis.false-alarms',
      name: 'diagnosis: false alarms',
      unit: 'findings',
      subject: score.falseAlarms,
      target: { max: 0, of: 'subject' },
    },
    {
      id: 'diagnosis.workloads-off',
      name: 'diagnosis: workloads off their claim',
      unit: `of ${score.total}`,
      subject: score.workloadsOff,
      target: { max: 0, of: 'subject' },
    },
  ];
}
