import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/analyze/summarize.js';
import { readCapture } from '../../src/record/capture-reader.js';
import { renderHtmlReport } from '../../src/report/html/html-report.js';
import {
  captureDir,
  captureHeader,
  MiB,
  removeCaptureDirs,
  sampleValues,
  writeCapture,
} from '../fixtures/captures.js';
import { CHROMIUM, haveChromium, openWatched, useBrowser } from '../helpers/browser.js';
import { repoRoot } from '../helpers/run-cli.js';
import { HOSTILE, hostileCapture, withFindings } from '../report/html/report-fixture.js';

const UNITS: Record<string, number> = { B: 1 / 1024 ** 2, KiB: 1 / 1024, MiB: 1, GiB: 1024 };

/** "12.5 MiB" -> 12.5 */
function mebibytes(text: string): number {
  const [number, unit] = text.split(' ');
  return Number(number) * (UNITS[unit ?? ''] ?? Number.NaN);
}
const browser = useBrowser();
afterAll(removeCaptureDirs);

describe.skipIf(!haveChromium)(`the HTML report in headless Chromium (${CHROMIUM})`, () => {
  it('draws from file:// with no errors, no requests and no dialogs, hostile strings as text', async () => {
    const capture = readCapture(hostileCapture());
    const html = renderHtmlReport(capture, withFindings(summarize(capture)));
    const file = path.join(captureDir(), 'report.html');
    fs.writeFileSync(file, html);

    const { page, problems, requests } = await openWatched(browser(), file, 'body[data-ready="1"]');

    // The memory chart's canvas has something on it.
    // (A string: the tests are type-checked without the DOM library.)
    const painted = await page.evaluate(`(() => {
      const canvas = document.querySelector('#memory-chart canvas');
      if (!canvas) return -1;
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
      return count / (canvas.width * canvas.height);
    })()`);
    expect(painted).toBeGreaterThan(0.1);
    expect(await page.locator('#process-chart canvas').count()).toBe(1);

    const text = (await page.textContent('body')) ?? '';
    for (const hostile of [HOSTILE.script, HOSTILE.img, HOSTILE.name, HOSTILE.path]) {
      expect(text).toContain(hostile);
    }
    // Parsed as text, none of them made an element.
    expect(await page.locator('main img, main b, main script').count()).toBe(0);

    expect(await page.locator('.finding').count()).toBe(3);
    expect(await page.locator('#flamegraph').isHidden()).toBe(true);
    expect(await page.title()).toContain('etl.py');

    // Under the cursor the legend shows each layer's own value, not the stacked sum: they add up to usage.
    const over = page.locator('#memory-chart .u-over');
    const overBox = await over.boundingBox();
    if (!overBox) throw new Error('no chart overlay');
    await over.hover({ position: { x: overBox.width * 0.3, y: overBox.height / 2 } });
    const legend = await page.$$eval('#memory-chart .u-legend .u-series', (rows) =>
      rows.map((row) => [
        row.querySelector('.u-label')?.textContent,
        row.querySelector('.u-value')?.textContent,
      ]),
    );
    const values = new Map(legend.map(([label, value]) => [label ?? '', mebibytes(value ?? '')]));
    const layers = ['anon', 'page cache (clean)', 'dirty + writeback', 'shmem (tmpfs)', 'kernel', 'swap'];
    const sum = layers.reduce((total, label) => total + (values.get(label) ?? Number.NaN), 0);
    expect(values.get('usage')).toBeGreaterThan(0);
    expect(Math.abs(sum - (values.get('usage') ?? 0)) / sum).toBeLessThan(0.02);
    expect(values.get('anon')).toBeLessThan(values.get('usage') ?? 0);

    // A finding's "show on chart" zooms the chart to its evidence.
    await page.locator('.finding.critical button.show').click();
    await page.waitForTimeout(300);
    const ticks = await page.$$eval('#memory-chart .u-axis', (axes) => axes[0]?.textContent ?? '');
    expect(ticks).not.toContain('5s'); // the evidence runs from 30 s to 45 s

    const artifacts = path.join(repoRoot, 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    fs.copyFileSync(file, path.join(artifacts, 'report.html'));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="1"]');
    await page.screenshot({ path: path.join(artifacts, 'report.png'), fullPage: true });
    await page.context().close();

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  it.each([
    ['no samples at all (a capture cut off at once)', () => writeCapture(() => {})],
    [
      'one sample, no limit',
      () =>
        writeCapture(
          (writer) => writer.sample(0, sampleValues({ usage: 5 * MiB, anon: 5 * MiB })),
          captureHeader({
            limit: { bytes: null, source: 'no cgroup sets one', high: null, swapBytes: null },
          }),
        ),
    ],
  ])('opens without errors with %s', async (_name, build) => {
    const capture = readCapture(build());
    const file = path.join(captureDir(), 'edge.html');
    fs.writeFileSync(file, renderHtmlReport(capture, summarize(capture)));
    const { page, problems } = await openWatched(browser(), file, 'body[data-ready="1"]');
    expect(await page.textContent('#findings')).toContain('Findings');
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
