import { type CommandTable, runProgram } from './program.js';

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

/** Parses argv (without node and script), whose first word is run; resolves to the exit status. */
export function main(argv: string[]): Promise<number> {
  return runProgram(argv, COMMANDS);
}
