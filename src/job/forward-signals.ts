import type { ChildProcess } from 'node:child_process';

/** The signals a supervisor passes on; SIGINT is left out because the terminal already sent it to the job. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Passes signals headroom receives on to the job. A stop signal (TERM, HUP, QUIT) starts a grace
 * period after which `kill` is called to SIGKILL whatever is left. Returns a function that undoes it.
 */
export function forwardSignals(child: ChildProcess, graceMs: number, kill: () => void): () => void {
  let escalation: NodeJS.Timeout | undefined;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of FORWARDED_SIGNALS) {
    const handler = (): void => {
      child.kill(signal);
      if (signal !== 'SIGUSR1' && signal !== 'SIGUSR2' && !escalation) {
        escalation = setTimeout(kill, graceMs);
        escalation.unref();
      }
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  const ignoreInterrupt = (): void => {};
  process.on('SIGINT', ignoreInterrupt);
  return () => {
    if (escalation) clearTimeout(escalation);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    process.off('SIGINT', ignoreInterrupt);
  };
}
