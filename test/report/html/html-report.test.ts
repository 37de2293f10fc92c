import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../../src/analyze/summarize.js';
import { readCapture } from '../../../src/record/capture-reader.js';
import {
  contentSecurityPolicy,
  jsonForScript,
  renderHtmlReport,
  uplotAssets,
} from '../../../src/report/html/html-report.js';
import { buildReportData, type ReportData } from '../../../src/report/html/report-data.js';
import {
  captureHeader,
  MiB,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../../fixtures/captures.js';
import { HOSTILE, hostileCapture, LIMIT, OOM_AT_MS, withFindings } from './report-fixture.js';

afterAll(removeCaptureDirs);

function report(): { html: string; data: ReportData } {
  const capture = readCapture(hostileCapture());
  const summary = withFindings(summarize(capture));
  return { html: renderHtmlReport(capture, summary), data: buildReportData(capture, summary) };
}

/** The page without the data element's content: what the browser parses as markup and script. */
function markup(html: string): string {
  return html.replace(/(<script type="application\/json" id="headroom-data">)[^<]*/, '$1');
}

/** The JSON element's text, parsed. */
function embedded(html: string): ReportData {
  const match = /<script type="application\/json" id="headroom-data">([^<]*)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no data element');
  return JSON.parse(match[1]) as ReportData;
}

describe('jsonForScript', () => {
  it('escapes what could end the element or break a script', () => {
    const text = jsonForScript({ s: '</script><!-- & \u2028\u2029 >' });
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(text).toContain('\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029 \\u003e');
    expect(JSON.parse(text)).toEqual({ s: '</script><!-- & \u2028\u2029 >' });
  });
});

describe('renderHtmlReport', () => {
  it('never puts a string from a process into the markup', () => {
    const { html } = report();
    for (const hostile of Object.values(HOSTILE)) expect(html.includes(hostile)).toBe(false);
    expect(html.includes('<img')).toBe(false);
    expect(html.includes('<b>')).toBe(false);
    expect(/[\u2028\u2029]/.test(html)).toBe(false);
    // Outside the (escaped) JSON, not even their harmless parts.
    expect(/onerror=|alert\(/.test(markup(html))).toBe(false);
    // Exactly the report's own elements: one data element, uPlot, the page script.
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    // ...and the data survives the round trip intact.
    const data = embedded(html);
    expect(data.command).toEqual(['python', 'etl.py', HOSTILE.script, HOSTILE.img]);
    expect(data.processes.rows.map((p) => p.name)).toContain(HOSTILE.name);
    expect(data.findings[1]?.files?.[0]?.path).toBe(HOSTILE.path);
    expect(JSON.stringify(data)).toContain(HOSTILE.separators);
  });

  it('builds the page with textContent, never innerHTML', () => {
    const { html } = report();
    const page = html.slice(html.lastIndexOf('<script>'));
    expect(page).toContain('textContent');
    expect(page).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('fetches nothing: a strict CSP and no URL except uPlot\u2019s license comment', () => {
    const { html } = report();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'sha256-[^']+' 'sha256-[^']+'; style-src 'sha256-[^']+' 'sha256-[^']+';/,
    );
    expect(csp).not.toContain('unsafe-inline');
    // Each inline script of the page is one the policy names.
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(2);
    expect(contentSecurityPolicy(scripts, [])).toBe(csp.replace(/style-src [^;]*;/, 'style-src ;'));
    const urls = html.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*/gi) ?? [];
    expect([...new Set(urls)]).toEqual(['https://github.com/leeoniya/uPlot']);
    expect(html.indexOf('https://github.com/leeoniya/uPlot')).toBe(html.indexOf('/*! https://') + 4);
    expect(/\b(src|href|action)=|@import|url\(/i.test(markup(html))).toBe(false);
  });

  it('inlines uPlot and has a hidden place for the flame graph', () => {
    const { html } = report();
    expect(html).toContain(uplotAssets().js);
    expect(html).toContain(uplotAssets().css);
    expect(html).toMatch(/<section id="flamegraph" hidden>/);
  });

  it('carries the breakdown, the limit lines, the OOM kill and the limit hits', () => {
    const capture = readCapture(hostileCapture());
    const data = buildReportData(capture, summarize(capture));
    const t = data.timeline;
    const v = capture.series.values;
    expect(t.timeMs.length).toBe(601);
    const k = t.timeMs.indexOf(10_000);
    expect(t.dirty[k]).toBe((v.fileDirty[k] ?? 0) + (v.fileWriteback[k] ?? 0));
    expect((t.cache[k] ?? 0) + (t.dirty[k] ?? 0)).toBe(v.file[k]);
    expect(t.dirty[k]).toBeGreaterThan(0);
    expect(t.anon[k]).toBe(v.anon[k]);
    expect(t.usage[k]).toBe(v.usage[k]);
    expect(t.limit.every((x) => x === LIMIT)).toBe(true);
    expect(t.high.every((x) => x === 240 * MiB)).toBe(true);
    expect(t.oomKills).toEqual([
      { timeMs: OOM_AT_MS, count: 1, victims: [{ pid: 101, name: HOSTILE.name }] },
    ]);
    expect(t.limitHits.length).toBeGreaterThan(0);
    expect(data.processLines.series.map((s) => s.pid)).toEqual([101, 100]);
    expect(data.profile).toBeNull();
  });

  it('leaves headroom\u2019s own memory out of usage and anon in observe mode', () => {
    const header = captureHeader();
    const file = writeCapture(
      (writer) => {
        for (let t = 0; t <= 1000; t += 100) {
          writer.sample(t, sampleValues({ usage: 100 * MiB, anon: 60 * MiB, self: 20 * MiB }));
        }
      },
      { ...header, cgroup: { ...header.cgroup, mode: 'observe' } },
    );
    const capture = readCapture(file);
    const t = buildReportData(capture, summarize(capture)).timeline;
    expect(new Set(t.usage)).toEqual(new Set([80 * MiB]));
    expect(new Set(t.anon)).toEqual(new Set([40 * MiB]));
  });
});
