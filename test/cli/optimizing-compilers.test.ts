import { describe, expect, it } from 'vitest';
import { flagAtStart } from '../../src/cli/optimizing-compilers.js';

describe('flagAtStart', () => {
  it("is the build's default when Node was given neither form of the flag", () => {
    expect(flagAtStart(['maglev'], false, [])).toBe(false);
    expect(flagAtStart(['maglev'], true, ['--require', 'x.js', '--max-old-space-size=200'])).toBe(true);
  });

  it('is the last form given, by any of its names, in either spelling', () => {
    expect(flagAtStart(['maglev'], false, ['--maglev'])).toBe(true);
    expect(flagAtStart(['maglev'], true, ['--maglev', '--no-maglev'])).toBe(false);
    expect(flagAtStart(['opt', 'turbofan'], true, ['--no_turbofan'])).toBe(false);
    expect(flagAtStart(['opt', 'turbofan'], true, ['--no-opt', '--turbofan'])).toBe(true);
    // Another flag that only begins alike is not it.
    expect(flagAtStart(['maglev'], true, ['--no-maglev-inlining'])).toBe(true);
  });
});
