import path from 'node:path';

/**
 * The directory captures go to when no file is named: the caller's `home`, else $HEADROOM_HOME, else
 * .headroom/ in the working directory. One rule for `run` and `attach`.
 */
export function captureHome(home: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, home ?? env.HEADROOM_HOME ?? '.headroom');
}
