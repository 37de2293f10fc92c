import crypto from 'node:crypto';
import type { Summary } from '../../analyze/summarize.js';
import { uplotText } from '../../bundled/bundled-files.js';
import type { Capture } from '../../record/capture-reader.js';
import { redactDeep } from '../../redact-secrets.js';
import { CLIENT_SCRIPT } from './client-script.js';
import { FLAME_SCRIPT } from './flamegraph-script.js';
import { FLAME_CSS } from './flamegraph-styles.js';
import { buildReportData, type ReportData } from './report-data.js';
import { REPORT_CSS } from './styles.js';

/**
 * Nothing may be fetched: no network, no other file. Only the page's own inline scripts and styles run,
 * named by their hashes, so that even markup smuggled into the page could not run a script of its own.
 */
export function contentSecurityPolicy(scripts: readonly string[], styles: readonly string[]): string {
  const hashes = (texts: readonly string[]) => texts.map((text) => `'sha256-${sha256(text)}'`).join(' ');
  return (
    `default-src 'none'; script-src ${hashes(scripts)}; style-src ${hashes(styles)}; img-src data:; ` +
    "base-uri 'none'; form-action 'none'"
  );
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('base64');
}

/** How a report is drawn. */
export interface HtmlReportOptions {
  /**
   * Replace what looks like a secret in command lines and texts (redact-secrets.ts); default true, since a
   * report is a file that travels. Off only for one's own runs.
   */
  redact?: boolean;
}

/**
 * One offline HTML file: the report's data as escaped JSON, uPlot and the page's script inlined.
 * Every string from the capture reaches the page only inside the JSON element and is put into the DOM
 * as text by the script.
 */
export function renderHtmlReport(
  capture: Capture,
  summary: Summary,
  options: HtmlReportOptions = {},
): string {
  const data = buildReportData(capture, summary);
  return renderHtmlFromData(options.redact === false ? data : redactDeep(data));
}

export function renderHtmlFromData(data: ReportData): string {
  const assets = uplotAssets();
  // The flame graph's script and style come only with a profile, so a report without one stays as it was.
  const flame = data.profile !== null;
  const scripts = flame ? [assets.js, FLAME_SCRIPT, CLIENT_SCRIPT] : [assets.js, CLIENT_SCRIPT];
  const styles = flame ? [assets.css, REPORT_CSS, FLAME_CSS] : [assets.css, REPORT_CSS];
  return htmlPage({
    title: 'headroom report',
    subtitle: 'memory report',
    noscript: 'This report draws its content with JavaScript; allow scripts for this file to see it.',
    main: `<section id="overview" aria-label="overview"></section>
<section id="findings"><h2>Findings</h2></section>
<section id="memory"><h2>Memory over time</h2><p class="note" id="memory-note"></p><div class="chart" id="memory-chart"></div></section>
<section id="flamegraph" hidden><h2>Allocation flame graph</h2><p class="note">Where the job’s code held memory, by call stack: each bar is a function, as wide as the memory held by it and the functions it called. It starts at the cgroup’s peak; the slider moves through the profile’s snapshots.</p><div id="flamegraph-chart"></div></section>
<section id="processes"><h2>Processes</h2><p class="note" id="process-note"></p><div class="chart" id="process-chart"></div><div class="table-wrap" id="process-table"></div></section>
<section id="details"><h2>Run</h2></section>`,
    data,
    scripts,
    styles,
  });
}

/**
 * One self-contained page: the CSP names every inline script and style by hash, so nothing else can run
 * or be fetched; the data travels as one JSON element the scripts read through textContent.
 */
export function htmlPage(page: {
  title: string;
  subtitle: string;
  noscript: string;
  /** The sections, as markup with no data from the job in it. */
  main: string;
  data: unknown;
  scripts: readonly string[];
  styles: readonly string[];
}): string {
  const csp = contentSecurityPolicy(page.scripts, page.styles);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="headroom">
<title>${page.title}</title>
${page.styles.map((style) => `<style>${style}</style>`).join('\n')}
</head>
<body>
<header class="top"><span class="brand">headroom</span> <span class="brand-sub">${page.subtitle}</span></header>
<main>
<noscript><p class="notice">${page.noscript}</p></noscript>
${page.main}
</main>
<script type="application/json" id="headroom-data">${jsonForScript(page.data)}</script>
${page.scripts.map((script) => `<script>${script}</script>`).join('\n')}
</body>
</html>
`;
}

/**
 * JSON that is safe inside a script element and in any HTML context: <, >, & and the JavaScript line
 * separators are escaped, so no string can close the element or open a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

let cached: { js: string; css: string } | undefined;

/** uPlot's script and stylesheet, read from the installed package (a runtime dependency). */
export function uplotAssets(): { js: string; css: string } {
  if (cached) return cached;
  const js = uplotText('uPlot.iife.min.js');
  const css = uplotText('uPlot.min.css');
  // Either would end its element early; uPlot has neither, and must keep it that way.
  if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new Error('uPlot cannot be inlined as it is');
  cached = { js, css };
  return cached;
}
