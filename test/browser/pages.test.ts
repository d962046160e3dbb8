// What a person at a browser sees, in Chromium: the example's own 404 page
// (ErrorPage) and the built-in one where there is none, in light and dark; a
// markdown document rendered by the plugin; the status page's charts drawn
// and redrawn as requests arrive, with no Content-Security-Policy complaint.
// Each page is saved as a screenshot under test-output/screenshots/.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startCli, type Running } from '../helpers/cli.js';
import { fetchRaw, req } from '../protocols/file-helpers.js';

let browser: Browser;
let example: Running;
let bare: Running;
let statusSite: Running;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-pages-'));
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(dir, 'site.rules'), 'Status /status\nPass /*\n');
  [example, bare, statusSite, browser] = await Promise.all([
    startCli(['example', '--port', '0', '--rules', 'rules/default.rules']),
    startCli([dir, '--port', '0']),
    startCli(['--rules', path.join(dir, 'site.rules'), '--port', '0']),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([example?.stop(), bare?.stop(), statusSite?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A new page that records what the console says (a CSP violation is reported there). */
async function open(): Promise<{ page: Page; console: string[] }> {
  const page = await browser.newPage();
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  return { page, console };
}

describe('error pages in Chromium', () => {
  it('a missing page of the example is its own 404.html (ErrorPage), styled, with status 404', async () => {
    const { page } = await open();
    const res = await page.goto(`http://127.0.0.1:${example.port}/no-such-page`);
    expect(res?.status()).toBe(404);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.locator('h1').textContent()).toBe('There is no page here.');
    // Its stylesheet (/style.css) is loaded and applied.
    expect(await page.evaluate(() => document.styleSheets.length)).toBe(1);
    expect(await page.locator('.big').evaluate((e) => getComputedStyle(e).fontWeight)).toBe('700');
    // The link back works.
    await page.locator('a', { hasText: 'Back to the start page' }).click();
    await page.waitForURL(`http://127.0.0.1:${example.port}/`);
    expect(await page.locator('h1').textContent()).toBe('It works.');
    await page.goBack();
    await screenshot(page, 'error-page-custom');
    await page.close();
  });

  it('without ErrorPage, the built-in page: HTML with status, reason, request and what to try; dark by the system setting', async () => {
    const { page, console } = await open();
    const res = await page.goto(`http://127.0.0.1:${bare.port}/nothing/%3Cb%3Ehere%3C/b%3E`);
    expect(res?.status()).toBe(404);
    expect(await page.title()).toBe('404 Not Found');
    expect(await page.locator('.status').textContent()).toBe('404');
    expect(await page.locator('h1').textContent()).toBe('Not Found');
    // The hostile path is text, not markup.
    expect(await page.locator('dd code').first().textContent()).toBe('GET /nothing/<b>here</b>');
    expect(await page.locator('b').count()).toBe(0);
    expect(await page.locator('h2').textContent()).toBe('What to try');
    expect(await page.locator('li').count()).toBeGreaterThan(0);
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await screenshot(page, 'error-page-builtin');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(dark).not.toBe(light);
    await screenshot(page, 'error-page-builtin-dark');
    expect(console).toEqual([expect.stringMatching(/^error: Failed to load resource: .* 404/)]);
    await page.close();
  });
});

describe('markdown in Chromium', () => {
  it('docs/README.md renders through the plugin: headings, a list and code, not raw markdown', async () => {
    const { page } = await open();
    const res = await page.goto(`http://127.0.0.1:${example.port}/docs/README.md`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.locator('h1').textContent()).toBe('The example document root');
    expect(await page.locator('h2').count()).toBeGreaterThan(0);
    expect(await page.locator('ul li').count()).toBe(3);
    expect(await page.locator('pre code').count()).toBe(1);
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).not.toContain('# The example document root');
    expect(text).not.toContain('## How it is chosen');
    expect(text).not.toContain('```');
    await screenshot(page, 'markdown');
    await page.close();
  });
});

describe('the status charts in Chromium', () => {
  it('draw the series as SVG paths with points, and redraw them as requests arrive, with no CSP complaint', async () => {
    const { page, console } = await open();
    const res = await page.goto(`http://127.0.0.1:${statusSite.port}/status`);
    expect(res?.status()).toBe(200);
    const d = (id: string) => page.locator(`#${id}`).getAttribute('d');
    const before = await d('rps-rps');
    expect(before).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){29}$/);
    for (const id of ['latency-p50', 'latency-p90', 'latency-p99']) expect(await page.locator(`#${id}`).count()).toBe(1);
    // Traffic from elsewhere: the page's own poller must pick it up and redraw.
    for (let k = 0; k < 40; k++) await fetchRaw(statusSite.port, req('GET', '/hello.txt'));
    await page.waitForFunction((old) => document.getElementById('rps-rps')!.getAttribute('d') !== old, before, { timeout: 8000 });
    const after = await d('rps-rps');
    expect(after).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){29}$/);
    // The latency lines have points where requests were timed.
    expect(await d('latency-p99')).toMatch(/^M[\d.]+ [\d.]+/);
    // The path's drawn length is more than nothing: it is rendered, not only an attribute.
    const box = await page.locator('#rps').boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    await screenshot(page, 'status');
    expect(console.filter((m) => /Content Security Policy|Refused|pageerror/i.test(m))).toEqual([]);
    await page.close();
  });
});
