import { type CommandTable, runProgram } from './program.js';

/**
 * Each command's module, loaded only when that command is asked for (all of them for --help or an
 * unknown word): a short job pays for reading and compiling `run`, not the exporter, the HTML report
 * and the profile views. In `headroom --help` order.
 */
const COMMANDS: CommandTable = {
  limits: async () => (await import('./limits.js')).limitsCommand,
  run: async () => (await import('./run.js')).runCommand,
  summary: async () => (await import('./summary.js')).summaryCommand,
  supervise: async () => (await import('./supervise.js')).superviseCommand,
  exporter: async () => (await import('./exporter.js')).exporterCommand,
  top: async () => (await import('./top.js')).topCommand,
  live: async () => (await import('./live.js')).liveCommand,
  report: async () => (await import('./report.js')).reportCommand,
  flamegraph: async () => (await import('./flamegraph.js')).flamegraphCommand,
  table: async () => (await import('./table.js')).tableCommand,
  tree: async () => (await import('./tree.js')).treeCommand,
  stats: async () => (await import('./stats.js')).statsCommand,
  export: async () => (await import('./export.js')).exportCommand,
  attach: async () => (await import('./attach.js')).attachCommand,
};

/** Whether `word` names one of headroom's commands. */
export function isCommand(word: string): boolean {
  return Object.hasOwn(COMMANDS, word);
}

/** Parses argv (without node and script) and runs one command; resolves to the exit status. */
export function main(argv: string[]): Promise<number> {
  return runProgram(argv, COMMANDS);
}
