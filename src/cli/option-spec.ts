import type { Command } from 'commander';

/**
 * One option as commander declares it ("-m, --memory <size>", its help text, its default), kept as data
 * so that a command line of known options can also be read without commander (plain-options.ts).
 */
export interface OptionSpec {
  flags: string;
  description: string;
  defaultValue?: string;
}

/** Declares each of `specs` on `command`, in order. */
export function declareOptions(command: Command, specs: readonly OptionSpec[]): Command {
  for (const { flags, description, defaultValue } of specs) command.option(flags, description, defaultValue);
  return command;
}
