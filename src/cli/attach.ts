import type { Command } from 'commander';
import { HeadroomError, isHeadroomError } from '../errors.js';
import { parseSize } from './parse-size.js';
import type { Outcome } from './settle.js';

const MAX_SAMPLING_INTERVAL = 1024 ** 3;

interface AttachFlags {
  duration: string;
  samplingInterval?: string;
  output?: string;
  quiet?: boolean;
}

export function attachCommand(program: Command, outcome: Outcome): void {
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
        throw new HeadroomError('E_USAGE', `PID must be a process id, not ${JSON.stringify(pidText)}`, {
          option: 'PID',
        });
      }
      const seconds = Number(flags.duration);
      if (!/^\d+(\.\d+)?$/.test(flags.duration.trim()) || !(seconds > 0) || seconds > 86_400) {
        throw new HeadroomError(
          'E_USAGE',
          `--duration must be seconds, more than 0 and at most a day, not ${JSON.stringify(flags.duration)}`,
          { option: '--duration' },
        );
      }
      const samplingInterval =
        flags.samplingInterval === undefined
          ? undefined
          : parseSize(flags.samplingInterval, '--sampling-interval');
      if (samplingInterval !== undefined && samplingInterval > MAX_SAMPLING_INTERVAL) {
        throw new HeadroomError(
          'E_BAD_SIZE',
          `--sampling-interval: at most 1g, not ${JSON.stringify(flags.samplingInterval)}`,
          { option: '--sampling-interval' },
        );
      }
      // ws and the inspector client load only for this command.
      const { attach } = await import('../profile/attach.js');
      const { renderAttachSummary } = await import('../profile/attach-summary.js');
      const say = (line: string): void => {
        process.stderr.write(`headroom: ${line}\n`);
      };
      const stop = new AbortController();
      // A second signal: leave now, even if the process's inspector stays open.
      let quit: (error: HeadroomError) => void = () => {};
      const quitting = new Promise<never>((_resolve, reject) => {
        quit = reject;
      });
      const onSignal = (): void => {
        if (stop.signal.aborted) {
          quit(
            new HeadroomError(
              'E_INTERRUPTED',
              'stopped before the process was left as it was: its inspector may still be open',
              { pid },
            ),
          );
          return;
        }
        say('stopping: fetching the last profile and leaving the process as it was (again to quit now)');
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const result = await Promise.race([
          attach({
            pid,
            durationMs: seconds * 1000,
            ...(samplingInterval === undefined ? {} : { samplingInterval }),
            ...(flags.output === undefined ? {} : { output: flags.output }),
            signal: stop.signal,
            say,
          }),
          quitting,
        ]);
        if (!flags.quiet) {
          const { readCapture } = await import('../record/capture-reader.js');
          process.stdout.write(renderAttachSummary(result, readCapture(result.capture)));
        }
        if (result.snapshots === 0) {
          const error = new HeadroomError('E_NO_PROFILE', `no heap profile was fetched from pid ${pid}`, {
            pid,
            path: result.capture,
          });
          outcome.failedAfterOutput(error);
        }
      } catch (error) {
        // A process gone while /proc was read: a failure of the attach, not of headroom.
        if (isHeadroomError(error, 'E_KERNEL_FILE'))
          throw new HeadroomError('E_ATTACH', error.message, { ...error.details, pid });
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
