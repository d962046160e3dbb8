// A crash mid-write leaves no torn entry: a child process writes 2 MB
// entries to a disk tier without pause and is killed (SIGKILL) at some
// moment; a new disk tier on the directory then deletes what the crash left
// half-written and reads back only whole entries. Runs the built code
// (dist/), as the CLI tests do.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI } from '../helpers/cli.js';
import { DiskStore } from '../../src/http-cache/disk.js';

const DISK = pathToFileURL(join(CLI, '..', 'http-cache', 'disk.js')).href;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
});

const WRITER = `
import { DiskStore } from ${JSON.stringify(DISK)};
const d = new DiskStore(process.argv[1], 1e12);
await d.open();
for (let i = 1; ; i++) {
  const body = Buffer.alloc(2_000_000, i % 251);
  d.write({ uri: 'http://x.test/' + (i % 8), vary: [], varyValues: [], status: 200, headers: { 'X-N': String(i) }, format: null, body,
    date: '', cc: new Map(), lifetime: 100, size: 0, requestTime: 0, responseTime: 0, dateValue: 0, ageValue: 0 }, {});
  if (i % 3 === 0) {
    await d.settled();
    process.stdout.write(i + '\\n');
  }
}
`;

describe('a crash mid-write', () => {
  it.each([50, 130, 210, 290, 370])('killed after %d ms: only whole entries are read back, leftovers deleted', async (ms) => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-cache-crash-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // Some writes done, then a kill at a moment nothing chose.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (out.includes('\n') || err !== '') {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    expect(err).toBe('');
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));

    const disk = new DiskStore(dir, 1e12);
    await disk.open();
    expect(readdirSync(dir).filter((f) => !f.endsWith('.entry'))).toEqual([]);
    let whole = 0;
    for (let k = 0; k < 8; k++) {
      const e = await disk.load(`http://x.test/${k}`, {});
      if (e === null) continue;
      const n = Number(e.headers['X-N']);
      expect(n % 8).toBe(k);
      expect(e.body.length).toBe(2_000_000);
      expect(e.body.every((b) => b === n % 251)).toBe(true);
      whole++;
    }
    expect(whole).toBeGreaterThan(0);
  }, 20_000);
});
