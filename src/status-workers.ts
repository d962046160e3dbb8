// The status page under workers (src/workers.ts): each worker counts what it
// serves, and the worker asked for the page shows the sums of every worker's
// numbers, which the primary gathers for it, with each worker's own.

import { CLASSES, STATES } from './status.js';
import type { Status, Upstream } from './status.js';
import { BUCKETS, BUCKET_SECONDS } from './status-series.js';
import type { Series, SeriesPoint } from './status-series.js';

/**
 * The numbers of several workers as one: sums, upstreams merged by origin,
 * the earliest start; `pid` is the one that answered. A worker that died took
 * its counts with it.
 */
export function combine(parts: readonly Status[], pid: number, now: number = Date.now()): Status {
  const sum: Status = {
    pid,
    uptimeSeconds: 0,
    startedAt: '',
    connections: { open: 0, closing: 0, closed: 0, dead: 0 },
    inFlight: 0,
    requests: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    cache: { hits: 0, misses: 0, documents: 0, bytes: 0 },
    upstreams: [],
    series: combineSeries(parts),
    workers: [...parts].sort((a, b) => a.pid - b.pid),
  };
  let started = Infinity;
  const byOrigin = new Map<string, Upstream>();
  for (const p of parts) {
    started = Math.min(started, Date.parse(p.startedAt));
    for (const st of STATES) sum.connections[st] += p.connections[st];
    sum.inFlight += p.inFlight;
    for (const c of CLASSES) sum.requests[c] += p.requests[c];
    sum.cache.hits += p.cache.hits;
    sum.cache.misses += p.cache.misses;
    sum.cache.documents += p.cache.documents;
    sum.cache.bytes += p.cache.bytes;
    for (const u of p.upstreams) {
      const m = byOrigin.get(u.origin) ?? { origin: u.origin, idle: 0, busy: 0, waiting: 0 };
      m.idle += u.idle;
      m.busy += u.busy;
      m.waiting += u.waiting;
      byOrigin.set(u.origin, m);
    }
  }
  if (Number.isFinite(started)) {
    sum.startedAt = new Date(started).toISOString();
    sum.uptimeSeconds = Math.max(0, now - started) / 1000;
  }
  sum.upstreams = [...byOrigin.values()].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  return sum;
}

/**
 * The workers' series as one: requests and rates add up bucket by bucket
 * (buckets are aligned to the clock, so each worker's share of a bucket has
 * the same start); a percentile is the highest of the workers', an upper
 * bound, since the histograms stay in their processes.
 */
function combineSeries(parts: readonly Status[]): Series {
  const byStart = new Map<string, SeriesPoint>();
  for (const p of parts) {
    for (const q of p.series.points) {
      const m = byStart.get(q.start);
      if (m === undefined) {
        byStart.set(q.start, { ...q });
        continue;
      }
      m.requests += q.requests;
      m.rps = Math.round((m.rps + q.rps) * 100) / 100;
      m.p50 = higher(m.p50, q.p50);
      m.p90 = higher(m.p90, q.p90);
      m.p99 = higher(m.p99, q.p99);
    }
  }
  const points = [...byStart.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { bucketSeconds: BUCKET_SECONDS, points: points.slice(-BUCKETS) };
}

function higher(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
