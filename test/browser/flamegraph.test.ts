import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { flameJoinLine } from '../../src/report/html/flamegraph-data.js';
import { renderFlamegraphHtml } from '../../src/report/html/flamegraph-page.js';
import { renderHtmlReport } from '../../src/report/html/html-report.js';
import { captureDir, removeCaptureDirs } from '../fixtures/captures.js';
import { CHROMIUM, haveChromium, openWatched, useBrowser } from '../helpers/browser.js';
import { repoRoot } from '../helpers/run-cli.js';
import { FLAME_HOSTILE, hostileProfileCapture } from '../report/flamegraph-fixture.js';

const ROW = 20;

const browser = useBrowser();
afterAll(removeCaptureDirs);

function open(file: string, ready: string): Promise<{ page: Page; problems: string[] }> {
  return openWatched(browser(), file, ready);
}

/** Share of the canvas's pixels that are painted. */
function painted(page: Page, selector: string): Promise<number> {
  // A string: the tests are type-checked without the DOM library.
  return page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    if (!canvas) return -1;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
    return count / (canvas.width * canvas.height);
  })()`) as Promise<number>;
}

function pixels(page: Page, selector: string): Promise<string> {
  return page.evaluate(`document.querySelector(${JSON.stringify(selector)}).toDataURL()`) as Promise<string>;
}

/** Hovers the frame at a depth, near the left edge, and returns the tooltip's text. */
async function hoverRow(page: Page, depth: number, x = 12): Promise<string> {
  await page.locator('.flame-canvas').hover({ position: { x, y: depth * ROW + ROW / 2 } });
  return (await page.textContent('.flame-tip')) ?? '';
}

async function setSlider(page: Page, position: number): Promise<void> {
  await page.evaluate(`(() => {
    const slider = document.getElementById('flame-slider');
    slider.value = '${position}';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  })()`);
}

const artifacts = path.join(repoRoot, 'test-artifacts');

describe.skipIf(!haveChromium)(`the flame graph in headless Chromium (${CHROMIUM})`, () => {
  it('draws the standalone page, moves with the slider, zooms, and shows hostile names as text', async () => {
    const capture = readCapture(hostileProfileCapture());
    const html = renderFlamegraphHtml(capture, 'peak', flameJoinLine(summarize(capture))) as string;
    const file = path.join(captureDir(), 'run.hrc.flamegraph.html');
    fs.writeFileSync(file, html);
    const { page, problems } = await open(file, 'body[data-flame-ready="1"]');

    expect(await painted(page, '.flame-canvas')).toBeGreaterThan(0.2);
    expect(await painted(page, '.flame-strip')).toBeGreaterThan(0.05);
    expect(await page.textContent('.flame-status')).toMatch(
      /^At 2\.00 s \(the cgroup’s peak; snapshot at a new high of a process\): 274 MiB held in 2 processes\.$/,
    );
    expect(await page.textContent('.flame-join')).toMatch(/^at peak: .*load_everything \(app\/etl\.py:12\)$/);
    expect(await page.textContent('#flame-head')).toContain('python3 /app/etl.py');

    // Rows: all, the python process, <module>, main, then its largest callee: the top frame at the peak.
    expect(await hoverRow(page, 0)).toContain('all processes');
    expect(await hoverRow(page, 1)).toContain('python3 etl.py (pid 202)');
    const top = await hoverRow(page, 4);
    expect(top).toContain('load_everything');
    expect(top).toContain('/app/etl.py:12');
    expect(top).toContain('210 MiB');
    expect(top).toContain('77% of all');
    expect(await page.textContent('.flame-detail')).toContain('21 growth steps');

    // The last position: the hostile frame now holds the most, drawn and described as plain text.
    const before = await pixels(page, '.flame-canvas');
    const last = Number(await page.getAttribute('#flame-slider', 'max'));
    await setSlider(page, last);
    expect(await page.getAttribute('#flamegraph-chart', 'data-position')).toBe(String(last));
    expect(await pixels(page, '.flame-canvas')).not.toBe(before);
    expect(await page.textContent('.flame-status')).toMatch(/^At 4\.00 s/);
    const hostile = await hoverRow(page, 4);
    expect(hostile).toContain(FLAME_HOSTILE.name);
    expect(hostile).toContain(FLAME_HOSTILE.file);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.locator('#flamegraph').screenshot({ path: path.join(artifacts, 'flamegraph-hostile.png') });
    await page.locator('#flame-slider').focus();
    await page.keyboard.press('ArrowLeft');
    expect(await page.getAttribute('#flamegraph-chart', 'data-position')).toBe(String(last - 1));

    // Click to zoom into the python process; reset to come back.
    await setSlider(page, last);
    await page.locator('.flame-canvas').click({ position: { x: 12, y: ROW * 1.5 } });
    expect(await page.textContent('.flame-status')).toContain('zoomed into python3 etl.py (pid 202)');
    expect(await page.isEnabled('text=reset zoom')).toBe(true);
    // Zoomed, the python process fills the width: its frames reach the right edge.
    const width = Number(await page.evaluate(`document.querySelector('.flame-canvas').clientWidth`));
    expect(await hoverRow(page, 3, width - 4)).toContain('main');
    await page.click('text=reset zoom');
    expect(await page.textContent('.flame-status')).not.toContain('zoomed');

    // Clicking the usage strip near its start moves to the first snapshot.
    await page.locator('.flame-strip').click({ position: { x: 2, y: 30 } });
    expect(await page.getAttribute('#flamegraph-chart', 'data-position')).toBe('0');

    expect(await page.locator('main img, main svg, main b, main script').count()).toBe(0);
    expect((await page.textContent('.flame-notes')) ?? '').toContain('snapshot refused');

    fs.mkdirSync(artifacts, { recursive: true });
    await page.click('text=back to the peak (2.00 s)');
    await page.mouse.move(0, 0);
    await hoverRow(page, 4);
    await page.screenshot({ path: path.join(artifacts, 'flamegraph.png'), fullPage: true });
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('shows the flame graph at peak in the report, beside the timeline', async () => {
    const capture = readCapture(hostileProfileCapture());
    const file = path.join(captureDir(), 'report.html');
    fs.writeFileSync(file, renderHtmlReport(capture, summarize(capture)));
    const { page, problems } = await open(file, 'body[data-ready="1"]');
    expect(await page.locator('#flamegraph').isVisible()).toBe(true);
    expect(await painted(page, '#flamegraph .flame-canvas')).toBeGreaterThan(0.2);
    expect(await painted(page, '#memory-chart canvas')).toBeGreaterThan(0.05);
    expect(await page.textContent('.flame-join')).toContain('was allocated in load_everything');
    expect(await page.textContent('.flame-status')).toMatch(/^At 2\.00 s \(the cgroup’s peak/);
    await page.locator('#flamegraph').scrollIntoViewIfNeeded();
    expect(await hoverRow(page, 4)).toContain('load_everything');
    expect(await page.locator('main img, main svg, main b').count()).toBe(0);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'report-flamegraph.png'), fullPage: true });
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
