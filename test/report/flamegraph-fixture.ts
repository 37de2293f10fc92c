import { MiB } from '../fixtures/captures.js';
import { END_MS, PYTHON_PID, writeProfileCapture } from '../fixtures/profile-captures.js';

/** Names and paths a hostile or unlucky job could put in its frames and argv. */
export const FLAME_HOSTILE = {
  name: '<img src=x onerror=alert(1)>',
  file: '/app/</script><b>x</b>.py',
  argv: '"><svg onload=alert(2)>',
};

/**
 * The shared profile capture plus, in the python process's last snapshot, a frame with a hostile name and
 * path holding the most memory, and a node process whose argv is hostile.
 */
export function hostileProfileCapture(): string {
  return writeProfileCapture({
    extra: [
      ['N', END_MS, PYTHON_PID, [6, 2, FLAME_HOSTILE.name, FLAME_HOSTILE.file, 7]],
      ['A', END_MS, PYTHON_PID, 'request', [6, 300 * MiB, 30, 5, 5 * MiB, 1]],
      ['P', END_MS, 303, PYTHON_PID, 'node', ['node', FLAME_HOSTILE.argv]],
      [
        'I',
        END_MS,
        303,
        { runtime: 'node', mode: 'sampling', interval: 524288, argv: ['node', FLAME_HOSTILE.argv] },
      ],
      ['N', END_MS, 303, [1, 0, 'main', 'file:///app/child.mjs', 1]],
      ['A', END_MS, 303, 'exit', [1, 2 * MiB, 4]],
    ],
  });
}
