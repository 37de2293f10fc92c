/**
 * Node checks the code cache of its built-in modules against a hash of all V8's flags, so one first loaded
 * after the flags changed is compiled from source, about three times as long. These are the ones `run`
 * would load only then (node:sea for the preloads' paths when the job has a limit): loading them first
 * keeps their cache.
 */
const LOADED_FIRST = ['node:os', 'node:sea'] as const;

/**
 * The optimizing compilers, each with its flag's names and whether it is on where the user said nothing:
 * TurboFan always; Maglev where Node was built with it (Node 24: on; Node 20 and 22: off).
 */
function compilers(): Array<{ flag: string; names: string[]; byDefault: boolean }> {
  const variables = process.config.variables as Record<string, unknown>;
  return [
    { flag: 'opt', names: ['opt', 'turbofan'], byDefault: true },
    { flag: 'maglev', names: ['maglev'], byDefault: variables.v8_enable_maglev === 1 },
  ];
}

/**
 * Whether the V8 flag called `names` is on as Node started: the last --NAME or --no-NAME in NODE_OPTIONS
 * and then Node's own arguments (`words`), else `byDefault`. V8 spells a flag with - or _ alike.
 */
export function flagAtStart(names: readonly string[], byDefault: boolean, words: readonly string[]): boolean {
  let on = byDefault;
  for (const word of words) {
    const flag = word.replaceAll('_', '-');
    if (names.some((name) => flag === `--${name}`)) on = true;
    else if (names.some((name) => flag === `--no-${name}`)) on = false;
  }
  return on;
}

/**
 * While `headroom run` samples, each tick is a few hundred microseconds of simple code: the
 * interpreter and baseline compiler serve it well, and leaving the optimizing compilers idle keeps
 * their machine code and output out of memory. Measured here: about 5 MiB less RSS (47 instead of 52
 * MiB) at the same CPU. headroom's memory counts against the user's container, so the sampler runs
 * without them, and they come back on for the summary, which reads the whole capture.
 *
 * Only a compiler that was on is turned off, and so back on: Node 22 is built without Maglev, and
 * turning it on after the job gave the summary a compiler that Node leaves off. Even so, from V8 12 on
 * the flags need not hash as they did at the start (--opt does not undo all that --no-opt implied), and
 * bin/headroom.cjs then writes no code cache.
 */
export function setOptimizingCompilers(on: boolean): void {
  if (!on) for (const id of LOADED_FIRST) process.getBuiltinModule(id);
  // Loaded here, not imported: `run` of a short job never gets this far (cli/run.ts).
  const v8 = process.getBuiltinModule('node:v8');
  const words = [...(process.env.NODE_OPTIONS ?? '').split(/\s+/), ...process.execArgv];
  for (const { flag, names, byDefault } of compilers()) {
    if (flagAtStart(names, byDefault, words)) v8.setFlagsFromString(on ? `--${flag}` : `--no-${flag}`);
  }
}
