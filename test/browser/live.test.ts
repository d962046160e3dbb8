// Live editing as a person at a browser sees it: an edit saved while the
// page is open is what the next reload shows (with and without --live, and
// at once: the memory cache never serves a stale page for a time window);
// with --live the page reloads by itself within a second of a save, and a
// stylesheet change is swapped in without a reload (the page's state
// survives, the computed style changes).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startCli, type Running } from '../helpers/cli.js';

const page = (text: string) => `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>live</title><link rel="stylesheet" href="/css/site.css"></head>
<body>
<h1 id="text">${text}</h1>
<p id="para">A paragraph.</p>
<p id="script"></p>
<script src="/app.js"></script>
</body>
</html>
`;

let browser: Browser;
let root: string;
const servers: Running[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-browser-live-'));
  fs.writeFileSync(path.join(root, 'index.html'), page('first version'));
  fs.mkdirSync(path.join(root, 'css'));
  fs.writeFileSync(path.join(root, 'css', 'site.css'), '#para { color: rgb(200, 0, 0); }\n');
  // Last modified a week ago: without Cache-Control a browser would keep it for hours unasked.
  fs.writeFileSync(path.join(root, 'app.js'), "document.getElementById('script').textContent = 'script one';\n");
  const weekAgo = new Date(Date.now() - 7 * 24 * 3600 * 1000);
  fs.utimesSync(path.join(root, 'app.js'), weekAgo, weekAgo);
});
afterEach(async () => {
  for (const p of pages.splice(0)) await p.close().catch(() => {});
  for (const s of servers.splice(0)) await s.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

async function serve(live: boolean): Promise<Page> {
  const server = await startCli([root, '--port', '0', ...(live ? ['--live'] : [])]);
  servers.push(server);
  const p = await browser.newPage();
  pages.push(p);
  const response = await p.goto(`http://127.0.0.1:${server.port}/`);
  expect(response?.status()).toBe(200);
  expect(await p.textContent('#text')).toBe('first version');
  return p;
}

/** Saves like an editor: a temporary file renamed over the original. */
function save(rel: string, data: string): void {
  const file = path.join(root, rel);
  fs.writeFileSync(file + '.tmp', data);
  fs.renameSync(file + '.tmp', file);
}

/** Reloads until the heading reads `want`, for at most `ms`: a second-long time window fails. */
async function reloadUntil(p: Page, want: string, ms = 500): Promise<number> {
  const started = Date.now();
  for (;;) {
    await p.reload();
    if ((await p.textContent('#text')) === want) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`the reload still shows ${JSON.stringify(await p.textContent('#text'))}`);
  }
}

describe('live editing in Chromium', () => {
  it('without --live: the reload after a save shows it, and the page has no script', async () => {
    const p = await serve(false);
    expect(await p.locator('script[data-streamstack-live]').count()).toBe(0);
    save('index.html', page('second version'));
    await reloadUntil(p, 'second version');
    await screenshot(p, 'live-off-after-save');
  });

  it('with --live: the reload after a save shows it too', async () => {
    const p = await serve(true);
    // The page's own reload is shown by the next test: here it must not interfere.
    await p.waitForFunction(() => (window as unknown as { streamstackLive?: EventSource }).streamstackLive?.readyState === 1);
    await p.evaluate(() => (window as unknown as { streamstackLive: EventSource }).streamstackLive.close());
    save('index.html', page('second version'));
    await reloadUntil(p, 'second version', 1000);
  });

  it('with --live: the page reloads by itself within a second of a save', async () => {
    const p = await serve(true);
    await screenshot(p, 'live-before-save');
    await p.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    // The event stream is open before the save.
    await p.waitForFunction(() => (window as unknown as { streamstackLive?: EventSource }).streamstackLive?.readyState === 1);
    const saved = Date.now();
    save('index.html', page('saved in the editor'));
    await p.waitForFunction(() => document.getElementById('text')?.textContent === 'saved in the editor', undefined, { timeout: 1000 });
    expect(Date.now() - saved).toBeLessThan(1000);
    expect(await p.evaluate(() => (window as unknown as { marker?: number }).marker)).toBeUndefined(); // a new page
    await screenshot(p, 'live-after-save');
  });

  it('with --live: a script changed reloads the page, and the page runs the new script', async () => {
    const p = await serve(true);
    expect(await p.textContent('#script')).toBe('script one');
    await p.waitForFunction(() => (window as unknown as { streamstackLive?: EventSource }).streamstackLive?.readyState === 1);
    save('app.js', "document.getElementById('script').textContent = 'script two';\n");
    await p.waitForFunction(() => document.getElementById('script')?.textContent === 'script two', undefined, { timeout: 1500 });
  });

  it('with --live: a stylesheet change is swapped in without a reload', async () => {
    const p = await serve(true);
    const color = () => p.evaluate(() => getComputedStyle(document.getElementById('para')!).color);
    expect(await color()).toBe('rgb(200, 0, 0)');
    await p.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await p.waitForFunction(() => (window as unknown as { streamstackLive?: EventSource }).streamstackLive?.readyState === 1);
    save('css/site.css', '#para { color: rgb(0, 0, 200); }\n');
    await p.waitForFunction(() => getComputedStyle(document.getElementById('para')!).color === 'rgb(0, 0, 200)', undefined, { timeout: 1000 });
    expect(await p.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await p.locator('link[rel="stylesheet"]').count()).toBe(1);
    await screenshot(p, 'live-after-css');
  });
});
