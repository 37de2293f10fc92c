import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** Debian's Chromium, driven by playwright-core; the browser tests are skipped without it. */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`test/browser: skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);
}

/** One headless Chromium for the calling test file, closed after it; the getter throws if it is not up. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!haveChromium) return;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('useBrowser: Chromium is not running');
    return browser;
  };
}

/**
 * `file` opened from file:// once `ready` matches, with everything that should never happen on a
 * self-contained page recorded: console errors and warnings, page errors, dialogs, CSP violations, and
 * requests for anything but the file itself (also listed apart in `requests`).
 */
export async function openWatched(
  browser: Browser,
  file: string,
  ready: string,
): Promise<{ page: Page; problems: string[]; requests: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog ${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('request', (request) => {
    if (request.url() === pathToFileURL(file).href) return;
    requests.push(request.url());
    problems.push(`request ${request.url()}`);
  });
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
  });`);
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector(ready, { timeout: 10_000 });
  return { page, problems, requests };
}
