// Alternate screen and cursor: restored on every way out, so the terminal is left as it was.
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

/**
 * A full-screen view on the alternate screen: redrawn every interval, on a key and on resize. q, Ctrl-C,
 * SIGTERM or `done()` returning true quits and restores the terminal.
 */
export function interactive(
  screen: () => string[],
  intervalMs: number,
  onKey: (key: string) => void,
  done: () => boolean = () => false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const draw = () => {
      try {
        process.stdout.write(`\x1b[H\x1b[2J${screen().join('\r\n')}`);
        if (done()) quit();
      } catch (error) {
        // Never leave the terminal raw or on the alternate screen.
        quit();
        reject(error);
      }
    };
    const timer = setInterval(draw, intervalMs);
    let quitting = false;
    const quit = () => {
      if (quitting) return;
      quitting = true;
      clearInterval(timer);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stdout.write(LEAVE);
      process.off('SIGTERM', quit);
      process.stdout.off('resize', draw);
      process.stdin.off('data', onData);
      resolve();
    };
    process.stdout.write(ENTER);
    process.stdin.setRawMode(true);
    process.stdin.resume();
    const onData = (data: Buffer) => {
      const key = data.toString('latin1');
      if (key === 'q' || key === '\x03') {
        quit();
        return;
      }
      onKey(key);
      draw();
    };
    process.stdin.on('data', onData);
    process.once('SIGTERM', quit);
    process.stdout.on('resize', draw);
    draw();
  });
}
