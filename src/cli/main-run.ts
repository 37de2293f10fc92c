import type { CommandTable } from './program.js';
import type { RunFlags } from './run.js';
import { settle } from './settle.js';

/**
 * `headroom run` alone, the entry of its own bundle (dist/headroom-run.cjs), which both loaders pick for
 * `headroom run`: a short job's start then reads, deserialises and sets up none of the other commands'
 * code (zod, the HTML report, the exporter, the profile views), only what run can reach.
 */
const COMMANDS: CommandTable = {
  run: async () => (await import('./run.js')).runCommand,
};

/** Whether `word` names a command of this bundle. */
export function isCommand(word: string): boolean {
  return Object.hasOwn(COMMANDS, word);
}

/**
 * Parses argv (without node and script), whose first word is run; resolves to the exit status. A plain
 * command line (options of run's own, then the job) runs without commander, which is loaded for help,
 * usage errors and the less common forms (short flags run together, a job named like an option).
 */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'run') {
    let plain = true;
    const status = await settle(
      async (outcome) => {
        const [{ parsePlainOptions }, { RUN_OPTIONS, runJob }] = await Promise.all([
          import('./plain-options.js'),
          import('./run.js'),
        ]);
        const line = parsePlainOptions<RunFlags>(argv.slice(1), RUN_OPTIONS);
        if (line) await runJob(line.operands, line.flags, outcome);
        else plain = false;
      },
      { runsAJob: true },
    );
    if (plain) return status;
  }
  const { runProgram } = await import('./program.js');
  return runProgram(argv, COMMANDS);
}
