import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { CLIENT_SCRIPT } from '../../src/report/html/client-script.js';
import type { FlamePageData } from '../../src/report/html/flamegraph-page.js';
import { renderFlamegraphHtml } from '../../src/report/html/flamegraph-page.js';
import { FLAME_SCRIPT } from '../../src/report/html/flamegraph-script.js';
import { FLAME_CSS } from '../../src/report/html/flamegraph-styles.js';
import { contentSecurityPolicy, renderHtmlReport, uplotAssets } from '../../src/report/html/html-report.js';
import type { ReportData } from '../../src/report/html/report-data.js';
import { REPORT_CSS } from '../../src/report/html/styles.js';
import { removeCaptureDirs } from '../fixtures/captures.js';
import { writeProfileCapture } from '../fixtures/profile-captures.js';
import { FLAME_HOSTILE, hostileProfileCapture } from './flamegraph-fixture.js';

afterAll(removeCaptureDirs);

function embedded<T>(html: string): T {
  const match = /<script type="application\/json" id="headroom-data">([^<]*)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no data element');
  return JSON.parse(match[1]) as T;
}

function csp(html: string): string {
  return /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
}

/** The inline scripts and styles, in page order. */
function inline(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');
}

describe('renderFlamegraphHtml', () => {
  it('is one offline page whose CSP names exactly its own script and styles', () => {
    const html = renderFlamegraphHtml(readCapture(writeProfileCapture())) as string;
    expect(inline(html, 'script')).toEqual([FLAME_SCRIPT]);
    expect(inline(html, 'style')).toEqual([REPORT_CSS, FLAME_CSS]);
    expect(csp(html)).toBe(contentSecurityPolicy([FLAME_SCRIPT], [REPORT_CSS, FLAME_CSS]));
    expect(csp(html)).toMatch(
      /^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+' 'sha256-[^']+';/,
    );
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\b(src|href|action)=|@import|url\(/i);
    const data = embedded<FlamePageData>(html);
    expect(data.format).toBe('headroom-flamegraph');
    expect(data.command).toEqual(['python3', '/app/etl.py']);
    expect(data.profile.positions.length).toBe(5);
  });

  it('keeps names, paths and argv from the job out of the markup', () => {
    const capture = readCapture(hostileProfileCapture());
    const html = renderFlamegraphHtml(capture, 'end') as string;
    for (const text of Object.values(FLAME_HOSTILE)) expect(html.includes(text)).toBe(false);
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.includes('<img')).toBe(false);
    expect(html.includes('<svg')).toBe(false);
    const data = embedded<FlamePageData>(html);
    expect(data.profile.strings).toContain(FLAME_HOSTILE.name);
    expect(data.profile.strings).toContain(FLAME_HOSTILE.file);
    expect(data.profile.processes.flatMap((p) => p.argv)).toContain(FLAME_HOSTILE.argv);
  });

  it('builds the graph with textContent and canvas text, never markup', () => {
    expect(FLAME_SCRIPT).toContain('textContent');
    expect(FLAME_SCRIPT).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
  });

  it('is undefined for a capture without a profile', () => {
    expect(renderFlamegraphHtml(readCapture(writeProfileCapture({ profiles: false })))).toBeUndefined();
  });
});

describe('the report with a profile', () => {
  it('carries the flame graph at peak, its script and style, and the join line', () => {
    const capture = readCapture(writeProfileCapture());
    const html = renderHtmlReport(capture, summarize(capture));
    const assets = uplotAssets();
    expect(inline(html, 'script')).toEqual([assets.js, FLAME_SCRIPT, CLIENT_SCRIPT]);
    expect(inline(html, 'style')).toEqual([assets.css, REPORT_CSS, FLAME_CSS]);
    expect(csp(html)).toBe(
      contentSecurityPolicy([assets.js, FLAME_SCRIPT, CLIENT_SCRIPT], [assets.css, REPORT_CSS, FLAME_CSS]),
    );
    // Beside the timeline: right after the memory chart.
    expect(html.indexOf('<section id="flamegraph" hidden>')).toBeGreaterThan(
      html.indexOf('id="memory-chart"'),
    );
    expect(html.indexOf('<section id="flamegraph" hidden>')).toBeLessThan(html.indexOf('id="processes"'));
    const data = embedded<ReportData>(html);
    expect(data.profile?.positions[data.profile.initial]?.timeMs).toBe(2000);
    expect(data.profile?.join).toMatch(/^at peak: .* was allocated in load_everything \(app\/etl\.py:12\)$/);
  });

  it('stays as it was without one', () => {
    const capture = readCapture(writeProfileCapture({ profiles: false }));
    const html = renderHtmlReport(capture, summarize(capture));
    expect(html).not.toContain(FLAME_SCRIPT);
    expect(html).not.toContain(FLAME_CSS);
    expect(embedded<ReportData>(html).profile).toBeNull();
  });

  it('escapes hostile frames in the report too', () => {
    const capture = readCapture(hostileProfileCapture());
    const html = renderHtmlReport(capture, summarize(capture));
    for (const text of Object.values(FLAME_HOSTILE)) expect(html.includes(text)).toBe(false);
    expect(embedded<ReportData>(html).profile?.strings).toContain(FLAME_HOSTILE.name);
  });
});
