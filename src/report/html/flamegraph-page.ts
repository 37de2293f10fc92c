import path from 'node:path';
import type { ProfileTime } from '../../profile/profile-at.js';
import type { Capture } from '../../record/capture-reader.js';
import { redactDeep } from '../../redact-secrets.js';
import { buildFlameData, type FlameData } from './flamegraph-data.js';
import { FLAME_SCRIPT } from './flamegraph-script.js';
import { FLAME_CSS } from './flamegraph-styles.js';
import { type HtmlReportOptions, htmlPage } from './html-report.js';
import { REPORT_CSS } from './styles.js';

/** What the flame graph page carries: the capture's name and command, and the flame graph's data. */
export interface FlamePageData {
  format: 'headroom-flamegraph';
  version: 1;
  captureFile: string;
  command: string[];
  component: string | null;
  profile: FlameData;
}

/**
 * One offline HTML file with the flame graph of the capture's allocation profile, first at `at`;
 * undefined when the capture holds no profile snapshot. As in the report, every string from the job
 * travels inside the escaped JSON element and is drawn as text.
 */
export function renderFlamegraphHtml(
  capture: Capture,
  at: ProfileTime = 'peak',
  join: string | null = null,
  { redact = true }: HtmlReportOptions = {},
): string | undefined {
  const profile = buildFlameData(capture, at, { join });
  if (!profile) return undefined;
  const shown: FlamePageData = {
    format: 'headroom-flamegraph',
    version: 1,
    captureFile: path.basename(capture.file),
    command: [...capture.header.command],
    component: capture.header.component ?? null,
    profile,
  };
  const data = redact ? redactDeep(shown) : shown;
  return htmlPage({
    title: 'headroom flame graph',
    subtitle: 'allocation flame graph',
    noscript: 'This page draws the flame graph with JavaScript; allow scripts for this file to see it.',
    main: `<section id="flame-head" aria-label="the job"></section>
<section id="flamegraph" hidden><h2>Memory held, by call stack</h2><p class="note">Each bar is a function; its width is the memory held by it and the functions it called, at the time chosen with the slider. Processes sit under the root, their outermost frames under them.</p><div id="flamegraph-chart"></div></section>`,
    data,
    scripts: [FLAME_SCRIPT],
    styles: [REPORT_CSS, FLAME_CSS],
  });
}
