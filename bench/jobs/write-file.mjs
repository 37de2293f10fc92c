// A job that fills the page cache: `node write-file.mjs FILE MIB SECONDS` writes MIB MiB in 1 MiB
// chunks spread evenly over SECONDS (0: as fast as it can), then removes the file.
import fs from 'node:fs';

const [file, mib = '512', seconds = '3'] = process.argv.slice(2);
const total = Number(mib);
const spreadMs = Number(seconds) * 1000;
const chunk = Buffer.alloc(1024 * 1024, 'x');
const fd = fs.openSync(file, 'w');
const started = Date.now();
for (let i = 0; i < total; i++) {
  fs.writeSync(fd, chunk);
  const due = started + ((i + 1) * spreadMs) / total;
  const wait = due - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
}
fs.closeSync(fd);
fs.rmSync(file);
