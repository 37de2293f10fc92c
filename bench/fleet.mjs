// 8. Many cgroups: one exporter scrape over 500 memory cgroups against a bare loop that reads the same
// files; the exporter's own RSS with 500 cgroups; `headroom top` redrawing 500 cgroups once a second,
// in a pseudo-terminal, against the bare loop run once a second.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { removeCgroup } from '../dist/kernel/index.js';
import { ownMemoryCgroup, V1_FILES } from './lib/cgroup.mjs';
import { cpuNanos, memoryStatus } from './lib/proc.mjs';
import { HEADROOM } from './lib/spawn.mjs';
import { MIB, median, medianInterval, sleep } from './lib/stats.mjs';

const COUNT = 500;

/** The baseline: walk the tree and read every file a full read takes, nothing parsed. */
function bareRead(top) {
  const dirs = [top];
  for (const name of fs.readdirSync(top, { withFileTypes: true })) {
    if (name.isDirectory()) dirs.push(path.join(top, name.name));
  }
  let bytes = 0;
  for (const dir of dirs) {
    for (const file of V1_FILES) {
      try {
        bytes += fs.readFileSync(path.join(dir, file)).length;
      } catch {
        // not on this kernel
      }
    }
  }
  return bytes;
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function run({ log, quick }) {
  const own = ownMemoryCgroup();
  if (own.version !== 1) throw new Error('the fleet benchmark needs the cgroup v1 memory controller');
  const top = path.join(own.dir, `hrbench-${process.pid}-fleet`);
  fs.mkdirSync(top);
  const children = [];
  try {
    for (let i = 0; i < COUNT - 1; i++) fs.mkdirSync(path.join(top, `c${i}`));
    log(`fleet: ${COUNT} cgroups made`);
    const rounds = quick ? 5 : 11;

    const port = await freePort();
    const exporter = spawn(
      process.execPath,
      [HEADROOM, 'exporter', '--listen', `127.0.0.1:${port}`, '--cgroup-root', top],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(exporter);
    await new Promise((resolve) => exporter.stderr.once('data', resolve));
    const scrapeMs = [];
    const bareMs = [];
    let series = 0;
    for (let round = 0; round < rounds + 2; round++) {
      let started = performance.now();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const scrape = performance.now() - started;
      started = performance.now();
      bareRead(top);
      const bare = performance.now() - started;
      // The first rounds warm both up.
      if (round >= 2) {
        scrapeMs.push(scrape);
        bareMs.push(bare);
      }
      series = (text.match(/^headroom_memory_usage_bytes\{/gm) ?? []).length;
    }
    const ratios = scrapeMs.map((ms, i) => ms / bareMs[i]);
    const rss = memoryStatus(exporter.pid);

    // top in a pseudo-terminal (script), redrawing once a second.
    // A terminal of a usual size: top reads the breakdown of the rows it shows.
    const shell = `stty rows 40 cols 140; ${process.execPath} ${HEADROOM} top --interval 1 --cgroup-root ${top}`;
    const script = spawn('script', ['-qfc', shell, '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(script);
    await sleep(3000);
    const topPid = fs
      .readFileSync(`/proc/${script.pid}/task/${script.pid}/children`, 'latin1')
      .trim()
      .split(' ')
      .map(Number)
      .find(
        (pid) =>
          fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(' top ') ||
          fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('\0top\0'),
      );
    if (!topPid) throw new Error('headroom top did not start in the pseudo-terminal');
    const seconds = quick ? 5 : 15;
    const before = cpuNanos(topPid);
    const wallStart = performance.now();
    await sleep(seconds * 1000);
    const topCpu = (cpuNanos(topPid) - before) / 1e6 / (performance.now() - wallStart);
    // The bare loop once a second costs its read time per second.
    const bareCpu = median(bareMs) / 1000;

    return [
      {
        id: 'fleet.scrape-500',
        name: `exporter scrape, ${COUNT} cgroups`,
        unit: 'ms',
        subject: median(scrapeMs),
        baseline: median(bareMs),
        ratio: median(ratios),
        interval: medianInterval(ratios),
        target: { max: 1.5, of: 'ratio' },
        note: `${series} cgroups in the scrape; baseline: reading the same ${V1_FILES.length} files of each cgroup, no parsing, same process kind (node)`,
        samples: { subject: scrapeMs, baseline: bareMs },
      },
      {
        id: 'fleet.exporter-rss',
        name: `exporter VmRSS, ${COUNT} cgroups`,
        unit: 'MiB',
        subject: rss.VmRSS / MIB,
        baseline: null,
        ratio: null,
        target: { max: 60, of: 'subject' },
        note: `after ${rounds + 2} scrapes; RssAnon ${(rss.RssAnon / MIB).toFixed(1)} MiB`,
      },
      {
        id: 'fleet.top-cpu',
        name: `top at 1 Hz, ${COUNT} cgroups`,
        unit: '% core',
        subject: topCpu * 100,
        baseline: bareCpu * 100,
        ratio: topCpu / bareCpu,
        target: { max: 2, of: 'subject' },
        note: `over ${seconds} s in a 140x40 pseudo-terminal; baseline: the bare read once a second`,
      },
    ];
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sleep(300);
    for (const entry of fs.readdirSync(top)) {
      const dir = path.join(top, entry);
      if (fs.statSync(dir).isDirectory()) removeCgroup(dir);
    }
    removeCgroup(top);
  }
}
