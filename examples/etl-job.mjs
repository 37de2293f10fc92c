// A small ETL-style job, the kind that gets OOM-killed in containers: it builds a table in memory and
// writes a large output file. Run it under a limit to see where the container's memory really goes:
//   headroom run --memory 256m -- node examples/etl-job.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const rows = Number(process.env.ROWS ?? 400_000);
const outputMiB = Number(process.env.OUTPUT_MIB ?? 640);
const out = path.join(process.env.OUT_DIR ?? os.tmpdir(), `etl-output-${process.pid}.csv`);

// Extract: records held in memory (anonymous memory, the part a heap profiler sees).
const table = [];
for (let i = 0; i < rows; i++) table.push({ id: i, name: `customer-${i}`, amount: (i * 7919) % 10_000 });
console.log(`extracted ${table.length} rows`);

// Load: a big output file. Every page written is charged to the container as page cache, dirty until the
// disk catches up; it looks like a leak in `docker stats` though the process itself stays small.
const chunk = Buffer.from(
  table
    .slice(0, 20_000)
    .map((r) => `${r.id},${r.name},${r.amount}\n`)
    .join(''),
);
const fd = fs.openSync(out, 'w');
let written = 0;
while (written < outputMiB * 1024 * 1024) written += fs.writeSync(fd, chunk);
fs.closeSync(fd);
console.log(`wrote ${(written / 1024 / 1024).toFixed(0)} MiB to ${out}`);
fs.rmSync(out);
