import type { Command } from 'commander';
import { EXIT_USAGE, HeadroomError } from '../errors.js';
import { KernelFileError } from '../kernel/errors.js';
import { parseSize } from './parse-size.js';

/** Bad arguments exit EXIT_USAGE, as the other commands that run no job; a failed attach exits 1. */
const MAX_SAMPLING_INTERVAL = 1024 ** 3;

interface AttachFlags {
  duration: string;
  samplingInterval?: string;
  output?: string;
  quiet?: boolean;
}

export function attachCommand(program: Command, setStatus: (code: number) => void): void {
  program
    .command('attach')
    .description(
      "sample a running Node process's heap through its inspector for a while, with its cgroup, into a capture",
    )
    .argument('<pid>', 'the Node process')
    .option('--duration <seconds>', 'how long to sample (Ctrl-C stops early and still writes)', '10')
    .option(
      '--sampling-interval <bytes>',
      'bytes allocated between heap samples on average, e.g. 64k (default 128k; fewer bytes cost more CPU)',
    )
    .option('-o, --output <file>', 'capture file (default: a new file under $HEADROOM_HOME or .headroom/)')
    .option('-q, --quiet', 'no summary')
    .action(async (pidText: string, flags: AttachFlags) => {
      const pid = Number(pidText);
      if (!/^\d+$/.test(pidText) || !Number.isSafeInteger(pid) || pid <= 0) {
        throw new HeadroomError(`PID must be a process id, not ${JSON.stringify(pidText)}`, EXIT_USAGE);
      }
      const seconds = Number(flags.duration);
      if (!/^\d+(\.\d+)?$/.test(flags.duration.trim()) || !(seconds > 0) || seconds > 86_400) {
        throw new HeadroomError(
          `--duration must be seconds, more than 0 and at most a day, not ${JSON.stringify(flags.duration)}`,
          EXIT_USAGE,
        );
      }
      const samplingInterval =
        flags.samplingInterval === undefined
          ? undefined
          : parseSize(flags.samplingInterval, '--sampling-interval');
      if (samplingInterval !== undefined && samplingInterval > MAX_SAMPLING_INTERVAL) {
        throw new HeadroomError(
          `--sampling-interval: at most 1g, not ${JSON.stringify(flags.samplingInterval)}`,
          EXIT_USAGE,
        );
      }
      // ws and the inspector client load only for this command.
      const { attach } = await import('../profile/attach.js');
      const { ATTACH_FAILED } = await import('../profile/attach-target.js');
      const { renderAttachSummary } = await import('../profile/attach-summary.js');
      const say = (line: string): void => {
        process.stderr.write(`headroom: ${line}\n`);
      };
      const stop = new AbortController();
      const onSignal = (): void => {
        if (stop.signal.aborted) {
          // A second signal: leave now, even if the process's inspector stays open.
          say('stopped before the process was left as it was: its inspector may still be open');
          process.exit(130);
        }
        say('stopping: fetching the last profile and leaving the process as it was (again to quit now)');
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const result = await attach({
          pid,
          durationMs: seconds * 1000,
          ...(samplingInterval === undefined ? {} : { samplingInterval }),
          ...(flags.output === undefined ? {} : { output: flags.output }),
          signal: stop.signal,
          say,
        });
        if (!flags.quiet) {
          const { readCapture } = await import('../record/capture-reader.js');
          process.stdout.write(renderAttachSummary(result, readCapture(result.capture)));
        }
        if (result.snapshots === 0) setStatus(ATTACH_FAILED);
      } catch (error) {
        // A process gone while /proc was read: a failure of the attach, not of headroom.
        if (error instanceof KernelFileError) throw new HeadroomError(error.message, ATTACH_FAILED);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
