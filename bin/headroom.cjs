#!/usr/bin/env node
// The CLI is bundled into one CommonJS file: loading one script instead of some forty ES modules starts
// about 40 ms sooner and keeps a few MiB less of headroom's own memory in the user's container.
const { main } = require('../dist/headroom.cjs');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
