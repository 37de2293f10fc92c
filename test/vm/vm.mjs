// Host side of the cgroup v2 test VM: the cached rootfs, the per-run payload disk, the boot under qemu
// (TCG, no KVM here), and the parsing of the framed results the guest writes on its second serial port.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureCachedBuild,
  filesKey,
  requireTools as requireToolsFor,
  runLogged,
} from '../helpers/cached-build.mjs';

export const VM_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(VM_DIR, '..', '..');
export const CASES_DIR = path.join(VM_DIR, 'cases');

export function cacheDir() {
  return process.env.HEADROOM_VM_CACHE || '/var/cache/headroom-vm';
}

// The rootfs is rebuilt exactly when the script that builds it or a file it installs changes.
export function rootfsKey() {
  return filesKey(VM_DIR, [
    'build-rootfs.sh',
    ...fs.readdirSync(path.join(VM_DIR, 'rootfs')).map((f) => `rootfs/${f}`),
  ]);
}

/** The case names in test/vm/cases, in the order the guest runs them (byte order of the file names). */
export function listCases() {
  return fs
    .readdirSync(CASES_DIR)
    .filter((f) => f.endsWith('.sh'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** The per-case timeout in seconds: a `# timeout: N` line in the script, or the runner's default. */
export function caseTimeout(name, fallback = DEFAULT_CASE_TIMEOUT_S) {
  const text = fs.readFileSync(path.join(CASES_DIR, `${name}.sh`), 'utf8');
  const match = /^# timeout: *(\d+)/m.exec(text);
  return match ? Number(match[1]) : fallback;
}

export const DEFAULT_CASE_TIMEOUT_S = 180;

// Debian package names, so that the error says what to install (as .ci/run does).
const TOOLS = {
  debootstrap: 'debootstrap',
  'qemu-system-x86_64': 'qemu-system-x86',
  'mkfs.ext4': 'e2fsprogs',
};

/** Throws one error naming every missing tool and its package: the VM tests must fail, not skip. */
export function requireTools(names) {
  return requireToolsFor(names, { packages: TOOLS, purpose: 'the cgroup v2 VM' });
}

/**
 * The cached rootfs (rootfs.ext4, vmlinuz, initrd.img) for the current build script, built first when
 * missing. It is built under a temporary name and renamed into place, so an interrupted build is never
 * taken for a finished one; builds left by dead processes are removed.
 */
export async function ensureRootfs({ log = () => {} } = {}) {
  const cache = cacheDir();
  const isBuilt = (dir) => fs.existsSync(path.join(dir, 'rootfs.ext4'));
  const key = rootfsKey();
  if (!isBuilt(path.join(cache, `rootfs-${key}`))) requireTools(['debootstrap', 'mkfs.ext4']);
  const result = await ensureCachedBuild({
    cache,
    key,
    script: path.join(VM_DIR, 'build-rootfs.sh'),
    isBuilt,
    what: 'the VM rootfs',
    expect: 'a few minutes',
    log,
  });
  if (result.built) log(`rootfs built in ${(result.ms / 1000).toFixed(0)} s`);
  return result;
}

function shellQuote(value) {
  return `'${String(value).replaceAll("'", `'\\''`)}'`;
}

/** The production dependencies as the paths npm resolved them to, so that nothing else is copied. */
function productionDependencies() {
  const result = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  const modules = path.join(REPO_ROOT, 'node_modules') + path.sep;
  const paths = result.stdout.split('\n').filter((line) => line.startsWith(modules));
  if (paths.length === 0) throw new Error(`npm ls found no production dependencies: ${result.stderr}`);
  return paths;
}

/**
 * The per-run disk: node, the built project with its production dependencies, the cases, the fixtures,
 * bench/, the guest runner, and run.env for this run. Without `command` it runs the cases named in `cases`
 * (all when empty); with `command` (a shell command line) it runs that alone, as a case named `command`.
 */
export async function buildPayload({ workDir, runId, cases = [], command, caseTimeoutS, log = () => {} }) {
  const start = Date.now();
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'headroom.cjs'))) {
    throw new Error('dist/headroom.cjs is missing: run npm run build first');
  }
  const stage = path.join(workDir, 'payload');
  const project = path.join(stage, 'headroom');
  fs.mkdirSync(project, { recursive: true });
  fs.copyFileSync(fs.realpathSync(process.execPath), path.join(stage, 'node'));
  fs.chmodSync(path.join(stage, 'node'), 0o755);
  for (const entry of [
    'package.json',
    'bin',
    'dist',
    'preload',
    'test/vm/cases',
    'test/vm/guest',
    'test/fixtures',
    // For benchmarks that run in the VM (bench/watchdog-v2.mjs); not their results of earlier runs.
    'bench',
  ]) {
    const results = path.join(REPO_ROOT, 'bench', 'results');
    fs.cpSync(path.join(REPO_ROOT, entry), path.join(project, entry), {
      recursive: true,
      filter: (source) => source !== results,
    });
  }
  for (const dependency of productionDependencies()) {
    fs.cpSync(dependency, path.join(project, path.relative(REPO_ROOT, dependency)), { recursive: true });
  }
  const env = { HRVM_RUN_ID: runId, HRVM_CASES: cases.join(',') };
  if (caseTimeoutS) env.HRVM_DEFAULT_TIMEOUT = String(caseTimeoutS);
  if (command !== undefined) {
    fs.mkdirSync(path.join(stage, 'adhoc'));
    fs.writeFileSync(path.join(stage, 'adhoc', 'command.sh'), `set -euo pipefail\n${command}\n`);
    env.HRVM_CASES_DIR = '/opt/hrvm/adhoc';
    env.HRVM_CASES = '';
  }
  fs.writeFileSync(
    path.join(stage, 'run.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${shellQuote(v)}\n`)
      .join(''),
  );
  const usedMiB = Number(spawnSync('du', ['-sm', stage], { encoding: 'utf8' }).stdout.split('\t')[0]);
  const image = path.join(workDir, 'payload.ext4');
  const logFile = path.join(workDir, 'payload.log');
  await runLogged(
    'mkfs.ext4',
    ['-q', '-F', '-L', 'hrvm-payload', '-d', stage, image, `${Math.ceil(usedMiB * 1.3) + 64}M`],
    logFile,
  );
  fs.rmSync(stage, { recursive: true, force: true });
  const ms = Date.now() - start;
  log(`payload image built in ${(ms / 1000).toFixed(1)} s`);
  return { image, ms };
}

/**
 * Boots the VM and waits for qemu to exit (the guest powers off after the suite) or for the deadline,
 * when qemu is killed. `onLine` gets each framed result line as it arrives.
 */
export async function boot({
  rootfsDir,
  payloadImage,
  workDir,
  timeoutMs,
  memoryMiB = 2048,
  cpus = 2,
  onLine,
}) {
  const { 'qemu-system-x86_64': qemu } = requireTools(['qemu-system-x86_64']);
  const consoleLog = path.join(workDir, 'console.log');
  const resultsLog = path.join(workDir, 'results.log');
  fs.writeFileSync(resultsLog, '');
  const append = [
    'root=/dev/vda rw console=ttyS0',
    // cgroup v2 only, so that the memory controller is v2's and nothing can fall back to v1.
    'systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all',
    // A kernel panic ends qemu (with -no-reboot) instead of hanging until the deadline.
    'panic=-1 systemd.show_status=0',
    // Under TCG on a busy host the kernel's check that the IO-APIC timer ticks can time out and panic
    // ("IO-APIC + timer doesn't work!", seen with helpers running beside the suite); the timer works.
    'no_timer_check',
  ].join(' ');
  const args = [
    '-accel',
    'tcg',
    '-m',
    String(memoryMiB),
    '-smp',
    String(cpus),
    // No CD-ROM, floppy, parallel port or VGA to probe at boot: TCG makes every probe slow.
    '-nodefaults',
    '-vga',
    'none',
    '-display',
    'none',
    '-monitor',
    'none',
    '-nic',
    'none',
    '-no-reboot',
    '-kernel',
    path.join(rootfsDir, 'vmlinuz'),
    '-initrd',
    path.join(rootfsDir, 'initrd.img'),
    '-append',
    append,
    // snapshot=on: writes go to a throwaway overlay, so runs share the cached image.
    '-drive',
    `file=${path.join(rootfsDir, 'rootfs.ext4')},format=raw,if=virtio,snapshot=on`,
    '-drive',
    `file=${payloadImage},format=raw,if=virtio`,
    '-serial',
    `file:${consoleLog}`,
    '-serial',
    `file:${resultsLog}`,
  ];
  const start = Date.now();
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  let seen = 0;
  let pending = '';
  // When the guest said START and DONE, to within a poll: boot and power-off time apart from the suite.
  let startedMs = null;
  let doneMs = null;
  const poll = () => {
    const text = fs.readFileSync(resultsLog, 'utf8');
    pending += text.slice(seen);
    seen = text.length;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      const verb = line.split(' ')[2];
      if (verb === 'START') startedMs ??= Date.now() - start;
      if (verb === 'DONE') doneMs ??= Date.now() - start;
      onLine?.(line);
    }
  };
  const poller = setInterval(poll, 500);
  const exit = await new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('exit', (code, signal) => resolve({ code, signal, error: null }));
  });
  clearTimeout(deadline);
  clearInterval(poller);
  poll();
  if (exit.error) throw exit.error;
  return {
    ms: Date.now() - start,
    startedMs,
    doneMs,
    timedOut,
    exitCode: exit.code,
    signal: exit.signal,
    qemuOutput: stderr,
    consoleLog,
    resultsLog,
  };
}

/** Reads the framed lines of one run (see guest/run-suite.sh); lines of other runs or no frame are ignored. */
export function parseResults(text, runId) {
  const result = { started: null, done: null, cases: new Map() };
  const chunks = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const match = /^HRVM (\S+) (\S+)(?: (.*))?$/.exec(line);
    if (!match || match[1] !== runId) continue;
    const verb = match[2];
    const args = (match[3] ?? '').split(' ');
    if (verb === 'START') {
      result.started = { count: Number(args[0]), kernel: args[1] ?? '', cgroupFs: args[2] ?? '' };
    } else if (verb === 'BEGIN') {
      result.cases.set(args[0], {
        name: args[0],
        timeoutS: Number(args[1]),
        status: 'incomplete',
        exitStatus: null,
        ms: null,
        output: '',
        files: {},
      });
    } else if (verb === 'OUT' || verb === 'FILE') {
      const key = verb === 'OUT' ? `${args[0]}\0` : `${args[0]}\0${args[1]}`;
      const list = chunks.get(key) ?? [];
      list.push(args[args.length - 1] ?? '');
      chunks.set(key, list);
    } else if (verb === 'END') {
      const entry = result.cases.get(args[0]);
      if (entry) {
        entry.status = args[1];
        entry.exitStatus = Number(args[2]);
        entry.ms = Number(args[3]);
      }
    } else if (verb === 'DONE') {
      result.done = { passed: Number(args[0]), failed: Number(args[1]) };
    }
  }
  for (const [key, list] of chunks) {
    const [name, file] = key.split('\0');
    const entry = result.cases.get(name);
    if (!entry) continue;
    const data = Buffer.from(list.join(''), 'base64');
    if (file) entry.files[file] = data;
    else entry.output = data.toString('utf8');
  }
  return result;
}

/**
 * Builds what is missing, boots once and returns the parsed results with the time of each step.
 * `timeoutMs` defaults to two minutes of boot plus every selected case's own timeout.
 */
export async function runInVm({
  cases = [],
  command,
  caseTimeoutS,
  timeoutMs,
  keep = false,
  log = () => {},
  onLine,
} = {}) {
  requireTools(['qemu-system-x86_64', 'mkfs.ext4']);
  const known = listCases();
  const unknown = cases.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new Error(`no such VM case: ${unknown.join(', ')} (cases: ${known.join(', ')})`);
  const rootfs = await ensureRootfs({ log });
  const workDir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'hrvm-run-'));
  const runId = randomBytes(6).toString('hex');
  const payload = await buildPayload({ workDir, runId, cases, command, caseTimeoutS, log });
  const selected = command !== undefined ? ['command'] : cases.length > 0 ? cases : known;
  const budgetS =
    120 +
    selected.reduce(
      (sum, name) =>
        sum +
        15 +
        (command !== undefined ? (caseTimeoutS ?? DEFAULT_CASE_TIMEOUT_S) : caseTimeout(name, caseTimeoutS)),
      0,
    );
  // Capped, so that a run of hung cases cannot take CI's whole time: the suite is meant to take minutes.
  const limitMs = timeoutMs ?? Number(process.env.HRVM_TIMEOUT_S || Math.min(budgetS, 20 * 60)) * 1000;
  log(
    `booting the VM (run ${runId}, ${selected.length} case(s), hard limit ${(limitMs / 1000).toFixed(0)} s)`,
  );
  const vm = await boot({
    rootfsDir: rootfs.dir,
    payloadImage: payload.image,
    workDir,
    timeoutMs: limitMs,
    onLine,
  });
  const results = parseResults(fs.readFileSync(vm.resultsLog, 'utf8'), runId);
  const consoleText = fs.readFileSync(vm.consoleLog, 'utf8');
  fs.rmSync(payload.image, { force: true });
  if (!keep && results.done) fs.rmSync(workDir, { recursive: true, force: true });
  return {
    runId,
    selected,
    results,
    vm,
    consoleTail: consoleText.split('\n').slice(-60).join('\n'),
    workDir,
    times: { rootfsMs: rootfs.ms, rootfsBuilt: rootfs.built, payloadMs: payload.ms, vmMs: vm.ms },
  };
}
