import { constants } from 'node:os';
import type { Finding } from '../analyze/finding.js';
import type { MemoryBreakdown, OomKill, ProcessSummary, Summary } from '../analyze/summarize.js';
import { formatBytes, formatDuration, formatPercent } from '../format.js';
import { describeKnobs } from '../guard/knobs.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import { profileJoinLine } from './profile-join.js';

export interface SummaryTextOptions {
  /** ANSI colors; off unless asked, since the text often lands in logs. */
  color?: boolean;
  /** Shown on a "capture" line so the user knows where to look next. */
  capturePath?: string;
}

const LABEL_WIDTH = 13;
const MAX_PROCESSES = 5;
const MAX_KILLS = 3;
const MAX_WARNINGS = 2;
const MAX_COMMAND_CHARS = 80;
const MAX_SITES = 3;
const WRAP_COLUMNS = 100;

interface Style {
  strong(text: string): string;
  label(text: string): string;
  alert(text: string): string;
  warn(text: string): string;
}

/**
 * A few aligned lines for stderr at the end of a run and for `headroom summary`: how the job ended, the
 * peak and what it was made of, OOM kills, the processes at the peak, where the limit comes from.
 * Ends with a newline.
 */
export function renderSummaryText(summary: Summary, options: SummaryTextOptions = {}): string {
  const style = styler(options.color === true);
  const lines = [style.strong(headline(summary))];
  const row = (label: string, text: string) => {
    lines.push(`  ${style.label(label.padEnd(LABEL_WIDTH))}${text}`);
  };
  lines.push(...verdictText(summary, style));
  row('peak', peakText(summary));
  row('made of', breakdownText(summary));
  if (summary.oomKills.length > 0) row('OOM kills', style.alert(oomText(summary.oomKills)));
  if (summary.limitHits > 0) row('limit hits', String(summary.limitHits));
  for (const action of summary.guard.actions.slice(0, MAX_KILLS)) {
    row('guard', style.warn(sanitizeForTerminal(`${action.message} at ${formatDuration(action.timeMs)}`)));
  }
  const top = processesText(summary.processes);
  if (top) row(top.label, top.text);
  for (const [label, text] of profileRows(summary)) row(label, text);
  row('limit', limitText(summary));
  if (summary.guard.knobs.length > 0) row('guard set', describeKnobs(summary.guard.knobs, true));
  if (summary.guard.order) row('guard order', summary.guard.order.message);
  if (options.capturePath) row('capture', sanitizeForTerminal(options.capturePath));
  // Truncation first: it qualifies every figure above.
  const warnings = [...summary.warnings].sort(
    (a, b) => Number(!a.startsWith('capture is truncated')) - Number(!b.startsWith('capture is truncated')),
  );
  lines.push(...findingsText(summary.findings, style));
  for (const warning of warnings.slice(0, MAX_WARNINGS)) {
    row('warning', style.warn(sanitizeForTerminal(warning)));
  }
  if (warnings.length > MAX_WARNINGS) {
    row('', style.warn(`and ${warnings.length - MAX_WARNINGS} more warnings`));
  }
  return `${lines.join('\n')}\n`;
}

/** The verdict first, as its own paragraph: the one sentence a reader should take away. */
function verdictText(summary: Summary, style: Style): string[] {
  const { verdict } = summary;
  const tag = 'verdict';
  const marked = verdict.kind === 'healthy' ? style.label(tag) : style.strong(tag);
  const sure = verdict.confidence === 'high' ? '' : ` (${verdict.confidence} confidence)`;
  const [first = '', ...rest] = wrap(
    sanitizeForTerminal(verdict.cause + sure),
    WRAP_COLUMNS - 4 - tag.length,
  );
  return [
    `  ${marked}: ${first}`,
    ...(rest.length > 0 ? wrap(rest.join(' '), WRAP_COLUMNS - 4) : []).map((l) => `    ${l}`),
  ];
}

/**
 * Each finding as a wrapped paragraph with its first piece of advice; right-size adds its docker flags.
 * Messages carry paths and names from the job, so they go through the terminal sanitizer.
 */
function findingsText(findings: readonly Finding[], style: Style): string[] {
  const lines: string[] = [];
  for (const finding of findings) {
    const tag = `${finding.severity} ${finding.kind}`;
    const marked =
      finding.severity === 'critical'
        ? style.alert(tag)
        : finding.severity === 'warning'
          ? style.warn(tag)
          : style.label(tag);
    const [first = '', ...rest] = wrap(sanitizeForTerminal(finding.message), WRAP_COLUMNS - 4 - tag.length);
    lines.push(`  ${marked}: ${first}`);
    for (const line of rest.length > 0 ? wrap(rest.join(' '), WRAP_COLUMNS - 4) : [])
      lines.push(`    ${line}`);
    const advice = finding.snippets ? finding.snippets.docker : finding.advice[0];
    if (advice)
      for (const line of wrap(`→ ${sanitizeForTerminal(advice)}`, WRAP_COLUMNS - 4))
        lines.push(`    ${line}`);
  }
  return lines;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function headline(summary: Summary): string {
  const who = summary.component ? `headroom [${sanitizeForTerminal(summary.component)}]` : 'headroom';
  return `${who}: ${commandText(summary.command)} ${outcome(summary)}`;
}

function outcome(summary: Summary): string {
  const after = `after ${formatDuration(summary.durationMs)}`;
  if (summary.postmortem) {
    const kill = summary.oomKilled ? 'OOM kill' : 'end';
    return `in ${sanitizeForTerminal(summary.postmortem.name)}: post-mortem, the ${formatDuration(summary.postmortem.killedMs)} before its ${kill}`;
  }
  const { signal } = summary;
  if (signal) {
    const number = signalNumber(signal);
    const numbered = number === undefined ? '' : ` (signal ${number})`;
    if (signal === 'SIGKILL' && summary.oomKilled) return `killed by the OOM killer${numbered} ${after}`;
    // Exit status 137 is often read as "OOM"; say when the kernel's counter disagrees.
    if (signal === 'SIGKILL') return `killed by SIGKILL${numbered} ${after}, not by the OOM killer`;
    return `killed by ${sanitizeForTerminal(signal)}${numbered} ${after}`;
  }
  if (summary.exitCode !== null) return `exited ${summary.exitCode} ${after}`;
  if (summary.attached)
    return `(pid ${summary.attached.pid}) watched for ${formatDuration(summary.durationMs)}`;
  return `has no recorded exit; the capture stops ${after}`;
}

function peakText(summary: Summary): string {
  const { peak, limit } = summary;
  let text = formatBytes(peak.bytes);
  text +=
    limit.bytes === null
      ? ' (no limit)'
      : ` of ${formatBytes(limit.bytes)} limit (${formatPercent(peak.bytes, limit.bytes)})`;
  text += ` at ${formatDuration(peak.timeMs)}`;
  if (peak.bytes > peak.sampledBytes) {
    text += `, the kernel's high-water mark (highest sample ${formatBytes(peak.sampledBytes)})`;
  }
  return text;
}

function breakdownText(summary: Summary): string {
  const b: MemoryBreakdown = summary.peak.breakdown;
  const cache = [
    b.fileDirty > 0 ? `dirty ${amount(b.fileDirty)}` : '',
    b.fileWriteback > 0 ? `writeback ${amount(b.fileWriteback)}` : '',
  ].filter(Boolean);
  const parts = [
    `page cache ${amount(b.file)}${cache.length > 0 ? ` (${cache.join(', ')})` : ''}`,
    `anon ${amount(b.anon)}`,
    `shmem ${amount(b.shmem)}`,
    `kernel ${amount(b.kernel)}`,
  ];
  if (b.swap > 0) parts.push(`swap ${amount(b.swap)}`);
  const text = parts.join(', ');
  return summary.peak.bytes > summary.peak.sampledBytes ? `${text} (in the highest sample)` : text;
}

/**
 * The top allocation sites at the peak, and the line joining them to the cgroup's breakdown, when the
 * run was profiled.
 */
function profileRows(summary: Summary): Array<[string, string]> {
  const profile = summary.profile;
  if (!profile) return [];
  const sites = profile.topSites;
  if (sites.length === 0) return [['top sites', 'none at peak (the profile has no snapshot then)']];
  // Sites under 1% of the profile (the runtime's own start-up, the profiler's buffers) are noise here.
  const large = sites.filter((site, i) => i === 0 || site.share >= 0.01);
  const shown = large
    .slice(0, MAX_SITES)
    .map((site) => `${sanitizeForTerminal(site.label)} ${formatBytes(site.bytes)}`);
  const more = large.length > MAX_SITES ? ', ...' : '';
  const rows: Array<[string, string]> = [['top sites', `${shown.join(', ')}${more}`]];
  const join = profileJoinLine(summary.peak.breakdown, sites[0]);
  if (join) rows.push(['', sanitizeForTerminal(join)]);
  return rows;
}

function oomText(kills: OomKill[]): string {
  const shown = kills.slice(0, MAX_KILLS).map((kill) => {
    const at = `at ${formatDuration(kill.timeMs)}`;
    if (kill.pid === null) return `a process headroom did not see ${at}`;
    return `${sanitizeForTerminal(kill.name || '?')} (pid ${kill.pid}) ${at}`;
  });
  const more = kills.length > MAX_KILLS ? `, and ${kills.length - MAX_KILLS} more` : '';
  return `${kills.length} — ${shown.join(', ')}${more}`;
}

/** The processes holding memory at the peak; if none was running then, the biggest ever seen. */
function processesText(processes: ProcessSummary[]): { label: string; text: string } | undefined {
  const atPeak = processes
    .filter((p) => p.rssAtPeakBytes > 0)
    .sort((a, b) => b.rssAtPeakBytes - a.rssAtPeakBytes);
  const [label, list, bytes] =
    atPeak.length > 0
      ? ['top at peak', atPeak, (p: ProcessSummary) => p.rssAtPeakBytes]
      : ['largest', processes, (p: ProcessSummary) => p.peakRssBytes];
  if (list.length === 0) return undefined;
  const shown = list
    .slice(0, MAX_PROCESSES)
    .map((p) => `${processName(p)} (${p.pid}) ${formatBytes(bytes(p))}`);
  const more = list.length > MAX_PROCESSES ? `, and ${list.length - MAX_PROCESSES} more` : '';
  return { label, text: `${shown.join(', ')}${more}` };
}

function processName(process: ProcessSummary): string {
  const name = process.name || process.argv[0]?.split('/').pop() || 'unknown';
  return sanitizeForTerminal(name);
}

function limitText(summary: Summary): string {
  const { limit, cgroup } = summary;
  const observing = summary.attached
    ? `; observed the cgroup pid ${summary.attached.pid} runs in`
    : summary.postmortem
      ? "; recorded by the exporter's flight recorder"
      : cgroup.mode === 'observe'
        ? "; observed headroom's own cgroup, its memory left out"
        : '';
  if (limit.bytes === null)
    return `none (cgroup v${cgroup.version} ${sanitizeForTerminal(cgroup.path)}${observing})`;
  return `${formatBytes(limit.bytes)} from ${sanitizeForTerminal(limit.source)}${observing}`;
}

function commandText(command: string[]): string {
  if (command.length === 0) return '(no command)';
  const text = sanitizeForTerminal(command.map(shellQuote).join(' '));
  return text.length > MAX_COMMAND_CHARS ? `${text.slice(0, MAX_COMMAND_CHARS - 1)}…` : text;
}

/** Quoted as a shell would need it, so an argument with spaces reads as one. */
function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function amount(bytes: number): string {
  return bytes === 0 ? '0' : formatBytes(bytes);
}

function signalNumber(signal: string): number | undefined {
  const signals: Record<string, number | undefined> = constants.signals;
  return signals[signal];
}

function styler(color: boolean): Style {
  const wrap = (code: string) => (text: string) => (color && text ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { strong: wrap('1'), label: wrap('2'), alert: wrap('31'), warn: wrap('33') };
}
