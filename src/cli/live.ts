import type { Command } from 'commander';
import { badOption } from './bad-option.js';
import { interactive } from './screen.js';

export function liveCommand(program: Command): void {
  program
    .command('live')
    .description("follow a running job's capture: usage against the limit, what it is made of, its processes")
    .argument('<capture>', 'a capture that headroom run is writing (or has written)')
    .option('--interval <seconds>', 'refresh interval', '1')
    .option('--once', 'print one screen and exit')
    .action(async (file: string, flags: { interval: string; once?: boolean }) => {
      const intervalMs = Number(flags.interval) * 1000;
      if (!Number.isFinite(intervalMs) || intervalMs < 100) {
        throw badOption('--interval', `"${flags.interval}" must be a number of seconds, 0.1 or more`);
      }
      const [{ CaptureFollower }, { renderLive }] = await Promise.all([
        import('../record/capture-follower.js'),
        import('../report/live-view.js'),
      ]);
      const follower = new CaptureFollower(file);
      let state = follower.poll();
      const screen = () => {
        state = follower.poll() ?? state;
        if (!state) return [`headroom live  waiting for ${file} to start`];
        return renderLive(state, {
          width: process.stdout.columns || 120,
          height: process.stdout.rows || 40,
          file,
        });
      };
      if (flags.once || !process.stdout.isTTY || !process.stdin.isTTY) {
        process.stdout.write(`${screen().join('\n')}\n`);
        follower.close();
        return;
      }
      // When the job ends, the last screen stays on the normal screen, where it can be scrolled back to.
      let last: string[] = [];
      await interactive(
        () => {
          last = screen();
          return last;
        },
        intervalMs,
        () => {},
        () => state?.end !== undefined,
      );
      follower.close();
      process.stdout.write(`${last.join('\n')}\n`);
    });
}
