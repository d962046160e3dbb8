// The directory listing in Chromium, used the way a person uses it: sorting
// by clicking a column header, moving through the rows with Tab and the arrow
// keys and opening one with Enter, uploading two files through the form and by
// dropping them on the page (a progress bar per file, then the table shows
// them, and the bytes on disk are the bytes sent), the same form with
// JavaScript off (303 back to the listing), and dark mode. A screenshot of
// each lands under test-output/screenshots/.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startServer, stopServers } from '../protocols/file-helpers.js';

const RULES = ['Pass /*', 'DirAccess On', 'Enable POST /up/*', 'MaxBodySize 64K /up/small/*'].join('\n');
const DAY = 86_400_000;
const BASE = Date.UTC(2025, 5, 1, 9, 0, 0);
const FILES = [
  { name: 'notes.txt', size: 1200, age: 2 },
  { name: 'photo.png', size: 250_000, age: 0 },
  { name: 'backup.tar.gz', size: 40_000, age: 5 },
  { name: 'a b#?.txt', size: 7, age: 1 },
  { name: '<img src=x>.html', size: 30, age: 3 },
];
const DIRS = ['docs', 'snow ☃'];

let root: string;
let browser: Browser;
let context: BrowserContext | null = null;
let base: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'listing-browser-'));
  fs.mkdirSync(path.join(root, 'list'));
  for (const f of FILES) {
    const file = path.join(root, 'list', f.name);
    fs.writeFileSync(file, f.name === 'a b#?.txt' ? 'hostile' : randomBytes(f.size));
    fs.utimesSync(file, new Date(BASE - f.age * DAY), new Date(BASE - f.age * DAY));
  }
  for (const d of DIRS) fs.mkdirSync(path.join(root, 'list', d));
  fs.writeFileSync(path.join(root, 'list', 'snow ☃', 'inner.txt'), 'inner');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  fs.rmSync(root, { recursive: true, force: true });
});
beforeEach(async () => {
  fs.rmSync(path.join(root, 'up'), { recursive: true, force: true });
  fs.mkdirSync(path.join(root, 'up', 'small'), { recursive: true });
  const { port } = await startServer(root, RULES);
  base = `http://127.0.0.1:${port}`;
});
afterEach(async () => {
  await context?.close();
  context = null;
  await stopServers();
});

async function open(url: string, options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1000, height: 700 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Every request the page makes is to the server under test: nothing external.
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) errors.push(`external request ${r.url()}`);
  });
  (page as Page & { errors: string[] }).errors = errors;
  const response = await page.goto(base + url);
  expect(response?.status()).toBe(200);
  return page;
}

/** A file on disk for the file input to pick. */
function staged(name: string, data: Buffer): string {
  const dir = path.join(root, 'picked');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
  return path.join(dir, name);
}

const errorsOf = (page: Page): string[] => (page as Page & { errors: string[] }).errors;

/** The names in the table, in the order shown (the parent link left out). */
function shown(page: Page): Promise<string[]> {
  return page.$$eval('#listing tbody tr:not(.parent) td.name a', (links) => links.map((a) => a.textContent ?? ''));
}

describe('the listing in Chromium', () => {
  it('sorts when a column header is clicked, and again the other way', async () => {
    const page = await open('/list/');
    const dirs = ['docs/', 'snow ☃/'];
    expect(await shown(page)).toEqual([...dirs, '<img src=x>.html', 'a b#?.txt', 'backup.tar.gz', 'notes.txt', 'photo.png']);
    const bySize = [...FILES].sort((a, b) => b.size - a.size).map((f) => f.name);
    await Promise.all([page.waitForURL(/\?sort=size&order=desc$/), page.getByRole('link', { name: 'Size' }).click()]);
    expect(await shown(page)).toEqual([...dirs, ...bySize]);
    expect(await page.getAttribute('th.size', 'aria-sort')).toBe('descending');
    await screenshot(page, 'listing-sorted-by-size');
    await Promise.all([page.waitForURL(/\?sort=size&order=asc$/), page.getByRole('link', { name: 'Size' }).click()]);
    expect(await shown(page)).toEqual([...dirs, ...[...bySize].reverse()]);
    expect(await page.getAttribute('th.size', 'aria-sort')).toBe('ascending');
    const byDate = [...FILES].sort((a, b) => a.age - b.age).map((f) => f.name);
    await Promise.all([page.waitForURL(/\?sort=date&order=desc$/), page.getByRole('link', { name: 'Modified' }).click()]);
    expect((await shown(page)).slice(2)).toEqual(byDate);
    expect(await page.getAttribute('th.date', 'aria-sort')).toBe('descending');
    expect(await page.getAttribute('th.size', 'aria-sort')).toBeNull();
    expect(errorsOf(page)).toEqual([]);
  });

  it('reaches every row with Tab in order, moves with the arrow keys and j/k, and opens a row with Enter', async () => {
    const page = await open('/list/');
    const rowLinks = await page.$$eval('#listing tbody td.name a', (links) => links.map((a) => a.getAttribute('href')));
    // Tab from the top of the page: the row links come in table order, one after another.
    const order: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el?.closest('#listing tbody') ? el.getAttribute('href') : el?.tagName ?? '';
      });
      order.push(focused ?? '');
    }
    const first = order.indexOf(rowLinks[0]!);
    expect(first).toBeGreaterThan(0);
    expect(order.slice(first, first + rowLinks.length)).toEqual(rowLinks);
    // The focused row link shows an outline.
    await page.focus('#listing tbody tr:nth-child(2) td.name a');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowDown');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    const focusedHref = () => page.evaluate(() => document.activeElement?.getAttribute('href') ?? null);
    expect(await focusedHref()).toBe(rowLinks[1]);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await focusedHref()).toBe(rowLinks[3]);
    await page.keyboard.press('k');
    expect(await focusedHref()).toBe(rowLinks[2]);
    await page.keyboard.press('j');
    await page.keyboard.press('End');
    expect(await focusedHref()).toBe(rowLinks[rowLinks.length - 1]);
    // The last row stays the last: ArrowDown does not leave the table.
    await page.keyboard.press('ArrowDown');
    expect(await focusedHref()).toBe(rowLinks[rowLinks.length - 1]);
    await page.keyboard.press('Home');
    expect(await focusedHref()).toBe('../');
    await screenshot(page, 'listing-keyboard-focus');
    // Down to the hostile name, then Enter opens that very file.
    const hostile = rowLinks.indexOf('./a%20b%23%3F.txt');
    expect(hostile).toBeGreaterThan(0);
    for (let i = 0; i < hostile; i++) await page.keyboard.press('ArrowDown');
    expect(await focusedHref()).toBe('./a%20b%23%3F.txt');
    await Promise.all([page.waitForURL(`${base}/list/a%20b%23%3F.txt`), page.keyboard.press('Enter')]);
    expect(await page.textContent('body')).toBe('hostile');
    // Back, then Enter on a directory opens its listing.
    await page.goBack();
    await page.focus('#listing tbody td.name a[href="./snow%20%E2%98%83/"]');
    await Promise.all([page.waitForURL(`${base}/list/snow%20%E2%98%83/`), page.keyboard.press('Enter')]);
    expect(await page.textContent('h1')).toBe('Index of /list/snow ☃/');
    expect(errorsOf(page)).toEqual([]);
  });

  it('follows the system colour scheme', async () => {
    const background = async (scheme: 'light' | 'dark') => {
      const page = await open('/list/', { colorScheme: scheme });
      const rgb = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await screenshot(page, `listing-${scheme}`);
      await context!.close();
      context = null;
      const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
      return (r! + g! + b!) / 3;
    };
    expect(await background('light')).toBeGreaterThan(200);
    expect(await background('dark')).toBeLessThan(50);
  });
});

describe('uploads in Chromium', () => {
  /** Watches every <progress> the page adds: the values it takes, and whether it ended full. */
  async function watchProgress(page: Page): Promise<void> {
    await page.evaluate(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver((records) => {
        for (const r of records) {
          const bar = r.target instanceof HTMLProgressElement ? r.target : null;
          if (bar === null) continue;
          const name = bar.getAttribute('aria-label') ?? '';
          (seen[name] ??= []).push(bar.value / bar.max);
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['value', 'max'], childList: true });
    });
  }

  async function finished(page: Page, batches: number): Promise<Array<{ name: string; value: number; max: number; state: string }>> {
    await page.waitForFunction((n) => Number(document.getElementById('upload')!.dataset.uploaded ?? 0) >= n, batches, { timeout: 15_000 });
    return page.$$eval('#uploads li', (items) => items.map((li) => {
      const bar = li.querySelector('progress')!;
      return { name: li.querySelector('.file')!.textContent ?? '', value: bar.value, max: bar.max, state: li.querySelector('.state')!.textContent ?? '' };
    }));
  }

  it('uploads two files through the form with a progress bar each, then lists them; the bytes on disk are those sent', async () => {
    const page = await open('/up/');
    const marker = await page.evaluate(() => ((window as unknown as { marker: number }).marker = Math.random()));
    // Slow the upload down so that the bars move visibly (about 2 s for both files).
    const cdp = await context!.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 16 * 1024 * 1024 });
    await watchProgress(page);
    const one = randomBytes(3 * 1024 * 1024 + 11);
    const two = randomBytes(5 * 1024 * 1024 - 3);
    // From disk: handing Chromium a path is instant, handing it megabytes over the protocol is not.
    await page.setInputFiles('#files', [staged('first one.bin', one), staged('zweite ☃.bin', two)]);
    await page.click('#upload button');
    await page.waitForSelector('#uploads li progress');
    await screenshot(page, 'listing-upload-progress');
    const bars = await finished(page, 1);
    expect(bars.map((b) => b.name)).toEqual(['first one.bin', 'zweite ☃.bin']);
    for (const bar of bars) {
      expect(bar.state).toBe('done');
      expect(bar.value).toBe(bar.max);
    }
    // Each bar's max is the size of its own request: at least its file.
    expect(bars[0]!.max).toBeGreaterThanOrEqual(one.length);
    expect(bars[1]!.max).toBeGreaterThanOrEqual(two.length);
    // The bars moved on the way: some value strictly between empty and full.
    const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, number[]> }).seen);
    for (const name of ['Upload of first one.bin', 'Upload of zweite ☃.bin']) {
      expect(seen[name]!.some((v) => v > 0 && v < 1), name).toBe(true);
      expect(seen[name]!.at(-1)).toBe(1);
    }
    expect(fs.readFileSync(path.join(root, 'up', 'first one.bin')).equals(one)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'up', 'zweite ☃.bin')).equals(two)).toBe(true);
    // The table was refreshed in place: the new rows are there, and the page was not reloaded.
    expect(await shown(page)).toEqual(['small/', 'first one.bin', 'zweite ☃.bin']);
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(marker);
    expect(await page.textContent('#listing td.size[data-bytes="5242877"]')).toBe('5.0 MiB');
    // A screen reader hears the outcome once, not every percent.
    expect(await page.textContent('#upload-status')).toBe('2 of 2 files uploaded; the listing is updated.');
    expect(await page.getAttribute('#upload-status', 'role')).toBe('status');
    expect(await page.$$('#uploads [role=status], #uploads [aria-live], #uploads output')).toEqual([]);
    await screenshot(page, 'listing-upload-done');
    expect(errorsOf(page)).toEqual([]);
  }, 60_000);

  it('uploads files dropped on the page, and a second drop of the same names is stored beside them', async () => {
    const page = await open('/up/');
    await watchProgress(page);
    const one = randomBytes(1024 * 1024);
    const two = randomBytes(70_000);
    const drop = (files: Array<{ name: string; data: string }>) => page.evaluate((list) => {
      const transfer = new DataTransfer();
      for (const f of list) transfer.items.add(new File([Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0))], f.name));
      const target = document.querySelector('#listing')!;
      for (const type of ['dragenter', 'dragover']) target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
      const dragging = document.body.classList.contains('dragging');
      const accepted = !target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      return { dragging, accepted, after: document.body.classList.contains('dragging') };
    }, files);
    const files = [{ name: 'dropped.bin', data: one.toString('base64') }, { name: '<b>bold<i>.txt', data: two.toString('base64') }];
    // While files hover over the page it shows the drop zone; the drop is taken by the page, not the browser.
    expect(await drop(files)).toEqual({ dragging: true, accepted: true, after: false });
    let bars = await finished(page, 1);
    expect(bars.map((b) => [b.name, b.state, b.value === b.max])).toEqual([['dropped.bin', 'done', true], ['<b>bold<i>.txt', 'done', true]]);
    expect(fs.readFileSync(path.join(root, 'up', 'dropped.bin')).equals(one)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'up', '<b>bold<i>.txt')).equals(two)).toBe(true);
    await drop(files.slice(0, 1));
    bars = await finished(page, 2);
    expect(bars[2]!.state).toBe('stored as dropped (1).bin');
    expect(await shown(page)).toEqual(['small/', '<b>bold<i>.txt', 'dropped (1).bin', 'dropped.bin']);
    expect(await page.$('b')).toBeNull();
    await screenshot(page, 'listing-upload-dropped');
    expect(errorsOf(page)).toEqual([]);
  }, 60_000);

  it('shows a refused upload as failed, and the other file still lands', async () => {
    const page = await open('/up/small/');
    const small = randomBytes(1000);
    await page.setInputFiles('#files', [
      { name: 'too big.bin', mimeType: 'application/octet-stream', buffer: randomBytes(200_000) },
      { name: 'small.bin', mimeType: 'application/octet-stream', buffer: small },
    ]);
    await page.click('#upload button');
    const bars = await finished(page, 1);
    expect(bars.map((b) => b.name)).toEqual(['too big.bin', 'small.bin']);
    // 413, or the connection closed by the server while the browser still sends.
    expect(bars[0]!.state).toMatch(/^failed: (413|connection lost)/);
    expect(bars[1]!.state).toBe('done');
    expect(await page.textContent('#upload-status')).toBe('1 of 2 files uploaded; the listing is updated.');
    expect(fs.existsSync(path.join(root, 'up', 'small', 'too big.bin'))).toBe(false);
    expect(fs.readFileSync(path.join(root, 'up', 'small', 'small.bin')).equals(small)).toBe(true);
    expect(await shown(page)).toEqual(['small.bin']);
    expect(await page.isEnabled('#upload button')).toBe(true);
    await screenshot(page, 'listing-upload-refused');
  });

  it('works without JavaScript: the plain form posts, and the browser is back on the listing', async () => {
    const page = await open('/up/?sort=size&order=asc', { javaScriptEnabled: false });
    const one = randomBytes(600_000);
    const two = randomBytes(2_000);
    await page.setInputFiles('#files', [staged('plain one.bin', one), staged('plain two.bin', two)]);
    const [response] = await Promise.all([page.waitForNavigation(), page.click('#upload button')]);
    // The 303 was followed by a GET of the listing, in the order it was sorted.
    expect(response!.request().method()).toBe('GET');
    expect(response!.request().redirectedFrom()?.method()).toBe('POST');
    expect(page.url()).toBe(`${base}/up/?sort=size&order=asc`);
    expect(await shown(page)).toEqual(['small/', 'plain two.bin', 'plain one.bin']);
    expect(fs.readFileSync(path.join(root, 'up', 'plain one.bin')).equals(one)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'up', 'plain two.bin')).equals(two)).toBe(true);
    // The drop hint is the script's; without it the page does not promise drag and drop.
    expect(await page.isVisible('#drop-hint')).toBe(false);
    await screenshot(page, 'listing-upload-no-js');
  });
});
