/**
 * Node checks the code cache of its built-in modules against a hash of all V8's flags, so one first loaded
 * after the flags changed is compiled from source, about three times as long. These are the ones `run`
 * would load only then (node:sea for the preloads' paths when the job has a limit): loading them first
 * keeps their cache.
 */
const LOADED_FIRST = ['node:os', 'node:sea'] as const;

/**
 * While `headroom run` samples, each tick is a few hundred microseconds of simple code: the
 * interpreter and baseline compiler serve it well, and leaving the optimizing compilers idle keeps
 * their machine code and output out of memory. Measured here: about 5 MiB less RSS (47 instead of 52
 * MiB) at the same CPU. headroom's memory counts against the user's container, so the sampler runs
 * without them, and they come back on for the summary, which reads the whole capture.
 */
export function setOptimizingCompilers(on: boolean): void {
  if (!on) for (const id of LOADED_FIRST) process.getBuiltinModule(id);
  // Loaded here, not imported: `run` of a short job never gets this far (cli/run.ts).
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString(on ? '--opt' : '--no-opt');
  // Maglev is off by default before V8 12 (Node 20): only turn it back on where it is the default.
  if (Number(process.versions.v8.split('.')[0]) >= 12) v8.setFlagsFromString(on ? '--maglev' : '--no-maglev');
}
