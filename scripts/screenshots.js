#!/usr/bin/env node
// The README's screenshots: starts the server on a copy of the example (every
// file dated 2026-01-01 00:00 UTC, so the listing is the same on every
// machine) with rules/default.rules, opens pages in Debian's Chromium
// (playwright-core, no browser download) and writes:
//
//   docs/listing.png      the directory listing of /docs/
//   docs/error-page.png   the built-in 404 page (a copy served without its ErrorPage)
//
// Run with `npm run screenshots` (builds first). Same viewport, light colour
// scheme and file dates every time; rerun it after the listing or the error
// page changes.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist', 'src', 'cli.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = path.join(REPO, 'docs');
const DATE = new Date('2026-01-01T00:00:00Z');
const VIEWPORT = { width: 960, height: 600 };

function fail(message) {
  process.stderr.write(`screenshots: ${message}\n`);
  process.exit(1);
}

/** Copies a tree, dating every entry DATE (directories after their contents). */
function copyDated(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, entry.name);
    const b = path.join(to, entry.name);
    if (entry.isDirectory()) copyDated(a, b);
    else if (entry.isFile()) {
      fs.copyFileSync(a, b);
      fs.utimesSync(b, DATE, DATE);
    }
  }
  fs.utimesSync(to, DATE, DATE);
}

/** Starts the CLI; resolves with its port and a stop function once it prints its start line. */
function start(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args, '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /at http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve({ port: Number(m[1]), stop: () => new Promise((r) => { proc.on('close', r); proc.kill('SIGTERM'); }) });
    });
    proc.on('close', (code) => reject(new Error(`the server exited (${code}) before it started`)));
  });
}

async function shoot(browser, url, file, expectStatus) {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light', deviceScaleFactor: 1 });
  const res = await page.goto(url, { waitUntil: 'load' });
  if (res?.status() !== expectStatus) throw new Error(`${url}: status ${res?.status()}, expected ${expectStatus}`);
  await page.screenshot({ path: file, fullPage: false, animations: 'disabled', caret: 'hide' });
  await page.close();
  process.stdout.write(`screenshots: ${path.relative(REPO, file)} (${url.replace(/^http:\/\/[^/]+/, '')})\n`);
}

async function main() {
  if (!fs.existsSync(CLI)) fail('dist/src/cli.js is missing: run `npm run build` (or `npm run screenshots`, which builds)');
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: run \`sudo apt-get install -y chromium\` (or set CHROMIUM)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-screenshots-'));
  const site = path.join(tmp, 'example');
  copyDated(path.join(REPO, 'example'), site);
  // The same site without its ErrorPage: the rules minus that line, ServerRoot the copy.
  const rules = fs.readFileSync(path.join(REPO, 'rules', 'default.rules'), 'utf8');
  const bare = path.join(tmp, 'bare.rules');
  fs.writeFileSync(bare, rules.replace(/^ErrorPage .*$/gm, ''));
  fs.mkdirSync(OUT, { recursive: true });
  const servers = [];
  let browser;
  try {
    const full = await start([site, '--rules', 'rules/default.rules']);
    servers.push(full);
    const plain = await start([site, '--rules', bare]);
    servers.push(plain);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--font-render-hinting=none', '--hide-scrollbars', '--no-first-run'],
    });
    await shoot(browser, `http://127.0.0.1:${full.port}/docs/`, path.join(OUT, 'listing.png'), 200);
    await shoot(browser, `http://127.0.0.1:${plain.port}/no-such-page`, path.join(OUT, 'error-page.png'), 404);
  } finally {
    await browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
