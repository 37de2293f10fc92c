import path from 'node:path';
import { formatBytes, formatDuration } from '../format.js';
import type { Capture } from '../record/capture-reader.js';
import { sanitizeForTerminal } from '../terminal-text.js';
import type { AttachResult } from './attach.js';
import { profileAt, topSites } from './profile-at.js';

/** Sites listed. */
const TOP_SITES = 5;

/** What `headroom attach` says when done: how it went, the top allocation sites at the end, the capture. */
export function renderAttachSummary(result: AttachResult, capture: Capture, cwd = process.cwd()): string {
  const { target } = result;
  const command = sanitizeForTerminal(target.argv.map((arg) => path.basename(arg)).join(' ') || 'node');
  const inspector = result.openedInspector
    ? result.inspectorClosed
      ? 'its inspector opened and closed again'
      : 'its inspector opened and NOT closed again'
    : 'its inspector was open already and stays open';
  const snapshots = `${result.snapshots} heap snapshot${result.snapshots === 1 ? '' : 's'}`;
  const lines = [
    `attached to pid ${target.pid} (${command}) for ${formatDuration(result.durationMs)}` +
      `${result.stoppedEarly ? ' (stopped early)' : ''}: ${snapshots}, whose forced GCs took ` +
      `${formatDuration(result.fetchMs)}; ${inspector}`,
  ];
  const view = profileAt(capture, 'end');
  const sites = topSites(view, 'bytes', TOP_SITES);
  if (sites.length > 0) {
    // V8 samples allocations from when sampling starts: objects made before the attach are not seen.
    lines.push(`allocated since the attach and live at the end (sampled): ${formatBytes(view.totalBytes)}`);
    for (const site of sites) {
      const share = view.totalBytes > 0 ? Math.round((site.bytes / view.totalBytes) * 100) : 0;
      lines.push(
        `  ${formatBytes(site.bytes).padStart(10)} ${`${share}%`.padStart(4)}  ${sanitizeForTerminal(site.label)}`,
      );
    }
  } else {
    lines.push('none of the allocations sampled since the attach was live at the end');
  }
  lines.push(`capture: ${path.relative(cwd, result.capture) || result.capture}`);
  return `${lines.join('\n')}\n`;
}
