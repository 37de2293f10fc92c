import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HEADROOM = path.join(ROOT, 'bin/headroom.cjs');
export const JOBS = path.join(ROOT, 'bench/jobs');

/** Starts a process; `done` resolves with its exit and the wall time from spawn to exit in ms. */
/** The environment of a job headroom does not profile: no HEADROOM_*, and NODE_OPTIONS as given. */
export function bareEnv(nodeOptions = '') {
  const env = { ...process.env, NODE_OPTIONS: nodeOptions };
  for (const key of Object.keys(env)) if (key.startsWith('HEADROOM_')) delete env[key];
  return env;
}

export function start(command, args, options = {}) {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  const done = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, wallMs: performance.now() - started }));
  });
  return { child, started, done };
}

/** Runs a process to the end; throws unless it exits 0. */
export async function timed(command, args, options = {}) {
  const result = await start(command, args, options).done;
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}`);
  }
  return result.wallMs;
}

/** argv for `headroom run --quiet -o capture -- job...` (own cgroup, default 100 ms interval). */
export function headroomArgs(capture, job, extra = []) {
  return [HEADROOM, 'run', '--quiet', ...extra, '-o', capture, '--', ...job];
}
