import fs from 'node:fs';
import path from 'node:path';
import { HeadroomError } from '../errors.js';

export const CONFIG_FILE = 'headroom.toml';

/** What holds without a headroom.toml or HEADROOM__ variable: nothing profiled, Python by growth. */
export function defaultProfiling(): { components: string[]; python_profiler: 'growth' | 'tracemalloc' } {
  return { components: [], python_profiler: 'growth' };
}

/** A config file or variable that cannot be used (E_CONFIG); the message is one line naming the place. */
export function configError(message: string, file?: string): HeadroomError {
  return new HeadroomError('E_CONFIG', message, file === undefined ? {} : { path: file });
}

/** Where headroom.toml is looked for: the working directory, then $HEADROOM_HOME. */
export function configPlaces(cwd: string, env: NodeJS.ProcessEnv): string[] {
  const places = [path.join(cwd, CONFIG_FILE)];
  if (env.HEADROOM_HOME) places.push(path.resolve(cwd, env.HEADROOM_HOME, CONFIG_FILE));
  return places;
}

/** Whether there is any configuration to read: a headroom.toml, or a HEADROOM__ variable. */
export function configInUse({ cwd, env }: { cwd: string; env: NodeJS.ProcessEnv }): boolean {
  return (
    Object.keys(env).some((name) => name.startsWith('HEADROOM__')) ||
    configPlaces(cwd, env).some((place) => fs.existsSync(place))
  );
}
