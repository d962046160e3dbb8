// The status page's series: replies per second and latency percentiles in a
// fixed ring of 10-second buckets over five minutes. The ring with a clock
// the test moves (buckets, wrap-around, percentiles from the histogram), and
// over the wire: requests made are the counts in the JSON view, a slow one
// shows in p99 and not in p50, and the HTML view draws them as SVG paths.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CountingFs, fetchRaw, req, startServer, stopServers } from './protocols/file-helpers.js';
import { exchange } from './helpers/wire.js';
import { BOUNDS, BUCKETS, BUCKET_SECONDS, SeriesRing, binOf } from '../src/status-series.js';
import { pathOf, scaleMax, type Status } from '../src/status.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-series-'));
  fs.writeFileSync(path.join(root, 'small.txt'), 'small\n');
  fs.writeFileSync(path.join(root, 'slow.txt'), 'slow\n');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => stopServers());

describe('the ring', () => {
  it('bins latencies by the first bound at or above them', () => {
    expect([0, 0.2, 1, 1.5, 6, 6.5, 7, 8, 9, 60000, 60001, 1e9].map(binOf)).toEqual([0, 1, 1, 2, 6, 7, 7, 7, 8, 42, 43, 43]);
    for (let i = 0; i < BOUNDS.length; i++) {
      expect(binOf(BOUNDS[i]!)).toBe(i);
      if (i > 0) expect(binOf(BOUNDS[i - 1]! + 0.5)).toBe(i);
    }
  });

  it('counts per bucket, reads percentiles from the histogram, and forgets what is over five minutes old', () => {
    let now = 1_000_000_000_000; // a bucket boundary: 10^12 ms is a multiple of 10 s
    const ring = new SeriesRing(() => now);
    now += 5000;
    for (let ms = 1; ms <= 100; ms++) ring.record(now - ms);
    ring.record(-1); // a reply without a request: counted, not timed
    let s = ring.read();
    expect(s.bucketSeconds).toBe(BUCKET_SECONDS);
    expect(s.points).toHaveLength(BUCKETS);
    const last = s.points.at(-1)!;
    expect(last.start).toBe(new Date(1_000_000_000_000).toISOString());
    expect(last.requests).toBe(101);
    expect(last.rps).toBe(20.2); // 101 over the 5 s elapsed
    expect([last.p50, last.p90, last.p99]).toEqual([50, 100, 100]);
    expect(s.points.slice(0, -1).every((p) => p.requests === 0 && p.p50 === null)).toBe(true);
    for (let i = 1; i < s.points.length; i++) expect(Date.parse(s.points[i]!.start) - Date.parse(s.points[i - 1]!.start)).toBe(10_000);

    // The next bucket: the first one is complete (rps over 10 s), the new one separate.
    now += 10_000;
    for (let k = 0; k < 9; k++) ring.record(now - 2);
    ring.record(now - 900);
    s = ring.read();
    expect(s.points.at(-2)!.rps).toBe(10.1);
    expect(s.points.at(-1)!).toMatchObject({ requests: 10, p50: 2, p90: 2, p99: 1000 });

    // Five minutes later the first bucket's slot is reused: its counts are gone, not added to.
    now += (BUCKETS - 1) * 10_000;
    ring.record(now - 3);
    s = ring.read();
    expect(s.points.at(-1)!).toMatchObject({ requests: 1, p50: 3, p99: 3 });
    expect(s.points.reduce((n, p) => n + p.requests, 0)).toBe(1 + 10);
    now += BUCKETS * 10_000;
    expect(ring.read().points.every((p) => p.requests === 0)).toBe(true);
  });

  it('draws a path through the points, with gaps where there is no value', () => {
    expect(pathOf([0, 5, 10], 10, 100, 50)).toBe('M0 50L50 25L100 0');
    expect(pathOf([1, null, 1, 1], 2, 30, 10)).toBe('M0 5h0M20 5L30 5');
    expect(pathOf([null, 3], 4, 10, 8)).toBe('M10 2h0');
    expect(pathOf([null, null], 1, 10, 10)).toBe('');
    expect([0, 0.3, 1, 7, 20, 21, 999].map(scaleMax)).toEqual([1, 0.5, 1, 10, 20, 50, 1000]);
  });
});

async function series(port: number): Promise<Status> {
  const res = await fetchRaw(port, req('GET', '/status', { Accept: 'application/json' }));
  expect(res.status).toBe(200);
  return JSON.parse(res.body.toString()) as Status;
}

describe('over the wire', () => {
  it('the requests made are the counts of the series, and a slow one is its p99', async () => {
    const counting = new CountingFs();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    counting.hold.open = (p) => (p.endsWith('slow.txt') ? held : undefined);
    const { port } = await startServer(root, 'Status /status\nPass /*', { file: { fs: counting.fs } });
    const before = await series(port);
    expect(before.series.points.reduce((n, p) => n + p.requests, 0)).toBe(0);
    // 30 fast ones pipelined on one connection, a 404 among them, while one slow one waits on its own.
    const slow = fetchRaw(port, req('GET', '/slow.txt'));
    setTimeout(release, 400);
    const burst = [];
    for (let k = 0; k < 29; k++) burst.push(...req('GET', '/small.txt'));
    burst.push(...req('GET', '/missing.txt'));
    const fast = await exchange(port, burst, { responses: 30, timeout: 5000 });
    expect(fast.responses.map((r) => r.status)).toEqual([...Array(29).fill(200), 404]);
    expect((await slow).status).toBe(200);

    const s = await series(port);
    const points = s.series.points;
    expect(points).toHaveLength(BUCKETS);
    // Every reply so far: the first status page, 30 fast, 1 slow (this status page is counted once written).
    const total = points.reduce((n, p) => n + p.requests, 0);
    expect(total).toBe(1 + 30 + 1);
    expect(total).toBe(Object.values(s.requests).reduce((n, v) => n + v, 0));
    const p99 = Math.max(...points.map((p) => p.p99 ?? 0));
    expect(p99).toBeGreaterThanOrEqual(400);
    // The slow reply may land alone in the next 10 s bucket (its p50 is then its own time), so the
    // median is read in the busiest bucket: it holds at least 16 of the 32 replies, at most one slow.
    const busiest = points.reduce((a, b) => (b.requests > a.requests ? b : a));
    expect(busiest.requests).toBeGreaterThanOrEqual(16);
    expect(busiest.p50).toBeLessThan(100);
    const current = points.at(-1)!;
    expect(current.rps).toBeGreaterThan(0);
  });

  it('the HTML view draws the series as SVG paths, and the paths change with traffic', async () => {
    const { port } = await startServer(root, 'Status /status\nPass /*');
    const page = async () => (await fetchRaw(port, req('GET', '/status', { Accept: 'text/html' }))).body.toString();
    const d = (html: string, id: string) => new RegExp(`<path id="${id}" [^>]*d="([^"]*)"`).exec(html)?.[1];
    const first = await page();
    expect(first).toContain('<svg id="rps"');
    expect(first).toContain('<svg id="latency"');
    for (let k = 0; k < 20; k++) await fetchRaw(port, req('GET', '/small.txt'));
    const second = await page();
    const rps = d(second, 'rps-rps')!;
    // 30 points: a move and 29 lines.
    expect(rps.match(/[ML]/g)).toHaveLength(BUCKETS);
    expect(rps).not.toBe(d(first, 'rps-rps'));
    expect(d(second, 'latency-p50')).toMatch(/^M[\d.]+ [\d.]+/);
  });
});
