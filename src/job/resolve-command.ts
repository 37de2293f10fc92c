import fs from 'node:fs';
import path from 'node:path';
import { HeadroomError } from '../errors.js';

/**
 * Finds the program as execvp would, before any cgroup is made, so that "not found" (127) and "not
 * executable" (126) are told apart the way a shell tells them.
 */
export function resolveCommand(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  if (command === '')
    throw new HeadroomError('E_COMMAND_NOT_FOUND', 'the command is an empty string', { command });
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    const problem = checkExecutable(file);
    if (problem === 'missing')
      throw new HeadroomError('E_COMMAND_NOT_FOUND', `${command}: no such file or directory`, { command });
    if (problem) throw new HeadroomError('E_NOT_EXECUTABLE', `${command}: ${problem}`, { command });
    return file;
  }
  let firstProblem: string | undefined;
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const file = path.join(dir || '.', command);
    const problem = checkExecutable(file);
    if (!problem) return file;
    if (problem !== 'missing') firstProblem ??= problem;
  }
  if (firstProblem) throw new HeadroomError('E_NOT_EXECUTABLE', `${command}: ${firstProblem}`, { command });
  throw new HeadroomError('E_COMMAND_NOT_FOUND', `${command}: command not found`, { command });
}

function checkExecutable(file: string): 'missing' | string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'missing';
  }
  if (stat.isDirectory()) return 'is a directory';
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return 'permission denied (not executable)';
  }
  // root passes access(X_OK) if any execute bit is set; with none set, exec still fails.
  if ((stat.mode & 0o111) === 0) return 'permission denied (not executable)';
  return undefined;
}
