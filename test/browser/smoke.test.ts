// The browser harness itself: Chromium loads a page the CLI serves, runs its
// stylesheet, and the screenshot lands where a reviewer looks for it.

import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startCli, type Running } from '../helpers/cli.js';

describe('in Chromium', () => {
  let browser: Browser;
  let server: Running;
  beforeAll(async () => {
    server = await startCli(['example', '--port', '0', '--rules', 'rules/default.rules']);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the example index page loads with its stylesheet applied', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`http://127.0.0.1:${server.port}/`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).not.toBe('');
    const stylesheets = await page.evaluate(() => document.styleSheets.length);
    expect(stylesheets).toBeGreaterThan(0);
    const file = await screenshot(page, 'index');
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
    await page.close();
  });
});
