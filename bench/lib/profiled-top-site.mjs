// The top allocation site at the end of one `headroom run --profile` of a Node job: how the profiling
// benches tell whether a leak is charged to the function that made it.
import fs from 'node:fs';
import { profileAt, topSites } from '../../dist/profile/profile-at.js';
import { readCapture } from '../../dist/record/capture-reader.js';
import { HEADROOM, start } from './spawn.mjs';

/** Runs `node ...jobArgs` under headroom with profiling into `capture`; undefined when nothing was sampled. */
export async function profiledTopSite({ capture, jobArgs, env, what }) {
  fs.rmSync(capture, { force: true });
  const args = [HEADROOM, 'run', '--quiet', '--profile', '-o', capture, '--', process.execPath, ...jobArgs];
  const result = await start(process.execPath, args, { env }).done;
  if (result.code !== 0) throw new Error(`headroom run --profile (${what}) exited with ${result.code}`);
  const [top] = topSites(profileAt(readCapture(capture), 'end'));
  return top;
}
