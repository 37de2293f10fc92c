#!/usr/bin/env node
// The CLI is bundled into CommonJS files (one for `run`, one for everything): loading one script instead
// of some forty ES modules starts about 40 ms sooner and keeps a few MiB less of headroom's own memory
// in the user's container. It is compiled through V8's code cache (code-cache.cjs).
const path = require('node:path');
const { runCli } = require('./code-cache.cjs');

runCli({
  read(bundle) {
    const filename = path.join(__dirname, '..', 'dist', bundle);
    // Read as latin1 (the bundle is ASCII: esbuild escapes the rest), which skips a UTF-8 decode.
    return { sourceFile: filename, filename };
  },
  flavor: 'npm',
  requireFn: require,
});
