// The status page (`Status PATH`, Apache's mod_status, nginx's stub_status):
// a GET or HEAD of PATH is answered by the server itself, before the rules
// translate it, with what it is doing now: uptime, client connections by
// state, replies by status class since start, memory-cache hits and misses,
// and the upstream pools by origin. Formats, by negotiation (RFC 9110 §12):
// text/html for browsers, application/json otherwise, and the Prometheus
// text exposition format (text/plain; version=0.0.4) for a scraper or
// `PATH?format=prometheus`.
//
// Counting costs the hot path one closure call and an integer increment per
// reply (StatusCounters.observe wraps the WireEvents.onReply observer) and
// one increment per GET in the FILE module; nothing is allocated until the
// page itself is asked for. The page never shows a request's fields or
// credentials: upstream origins are `scheme://host:port` (URL.host has no
// userinfo).
//
// Under workers each process counts what it serves; the page then adds up
// every worker's numbers, gathered by the primary when the page is asked
// for (Server.gatherStatus), and lists each worker's own.

import type { WireEvents } from '../protocols/http-server.js';
import type { ConnectionState } from '../protocols/http-connection.js';
import type { Request } from './request.js';
import type { Reply } from './reply.js';
import type { RuleSet } from './rules/index.js';
import type { Server } from './server.js';
import { makeFormat, type Format } from './format.js';
import { qualityOfType } from './negotiate.js';
import { errorReply } from './reply.js';
import { HttpError } from './errors.js';
import { authorize } from './auth/guard.js';
import { createHash } from 'node:crypto';
import { SeriesRing, type Series } from './status-series.js';

/** Replies written since start, by status class: index 1 is 1xx … 5xx; 0 and 6 are never written. */
export class StatusCounters {
  readonly replies = [0, 0, 0, 0, 0, 0, 0];
  readonly startedAt: number;
  /** Requests per second and latency percentiles over the last minutes (src/status-series.ts). */
  readonly series: SeriesRing;

  constructor(now: number = Date.now(), clock?: () => number) {
    this.startedAt = now;
    this.series = new SeriesRing(clock);
  }

  /**
   * `events` with a count ahead of its onReply: the only cost per request.
   * Its other observers are kept, bound to it (they may be methods of a
   * class, inherited and using private fields), and only those it has: the
   * server tells a missing onCaught from a present one.
   */
  observe(events: WireEvents = {}): WireEvents {
    const wrapped: Record<string, unknown> = {};
    for (let o: object | null = events; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const key of Object.getOwnPropertyNames(o)) {
        const value = (events as Record<string, unknown>)[key];
        if (key !== 'constructor' && !(key in wrapped)) wrapped[key] = typeof value === 'function' ? value.bind(events) : value;
      }
    }
    const replies = this.replies;
    const series = this.series;
    /** One reply, by its status class; a reply cut short counts by the status it had (499: never sent). */
    const count = (request: Request | null, reply: Reply): void => {
      const c = (reply.status / 100) | 0;
      if (c >= 1 && c <= 5) replies[c]!++;
      series.record(request === null ? -1 : request.startedAt);
    };
    const next = events.onReply;
    wrapped.onReply = function onReply(request: Request | null, reply: Reply, bytes: number, peer?: string): void {
      count(request, reply);
      if (next !== undefined) next.call(events, request, reply, bytes, peer);
    };
    const nextCut = events.onCut;
    wrapped.onCut = function onCut(request: Request | null, reply: Reply, bytes: number): void {
      count(request, reply);
      if (nextCut !== undefined) nextCut.call(events, request, reply, bytes);
    };
    return wrapped as WireEvents;
  }
}

export const STATES: readonly ConnectionState[] = ['open', 'closing', 'closed', 'dead'];
export const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export interface Upstream {
  origin: string;
  idle: number;
  busy: number;
  waiting: number;
}

/** What the page shows: a snapshot, taken when it is asked for. */
export interface Status {
  /** The process that answered: under workers, each counts what it served (see README). */
  pid: number;
  uptimeSeconds: number;
  startedAt: string;
  connections: Record<ConnectionState, number>;
  /** Requests queued on client connections and not yet answered (this one included). */
  inFlight: number;
  requests: Record<(typeof CLASSES)[number], number>;
  cache: { hits: number; misses: number; documents: number; bytes: number };
  /** The HTTP cache of proxied responses (src/http-cache/). */
  proxyCache?: ProxyCacheStatus;
  upstreams: Upstream[];
  /** Replies per second and latency percentiles (ms), in buckets over the last minutes. */
  series: Series;
  /** Under workers: each worker's own numbers; the fields above are their sums. */
  workers?: Status[];
}

export interface ProxyCacheStatus {
  hits: number;
  misses: number;
  /** Stored responses and their bytes in memory, and those evicted since start. */
  entries: number;
  bytes: number;
  evictions: number;
  /** The disk tier's, when there is one. */
  diskEntries: number;
  diskBytes: number;
  diskEvictions: number;
}

export function snapshot(server: Server, now: number = Date.now()): Status {
  const counters = server.counters;
  const connections = { open: 0, closing: 0, closed: 0, dead: 0 };
  let inFlight = 0;
  for (const c of server.http.stats()) {
    connections[c.state]++;
    inFlight += c.queued;
  }
  const requests = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  CLASSES.forEach((name, i) => (requests[name] = counters.replies[i + 1]!));
  const cache = server.file.cache;
  // Pools are keyed by origin and trust store: several may serve one origin.
  const byOrigin = new Map<string, Upstream>();
  for (const p of server.proxy.pools.stats()) {
    const u = byOrigin.get(p.origin) ?? { origin: p.origin, idle: 0, busy: 0, waiting: 0 };
    u.idle += p.idle;
    u.busy += p.busy;
    u.waiting += p.waiting;
    byOrigin.set(p.origin, u);
  }
  return {
    pid: process.pid,
    uptimeSeconds: Math.max(0, now - counters.startedAt) / 1000,
    startedAt: new Date(counters.startedAt).toISOString(),
    connections,
    inFlight,
    requests,
    cache: { hits: cache.hits, misses: cache.misses, documents: cache.count, bytes: cache.total },
    proxyCache: proxyCacheStatus(server),
    upstreams: [...byOrigin.values()].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0)),
    series: counters.series.read(),
  };
}

function proxyCacheStatus(server: Server): ProxyCacheStatus {
  const c = server.proxyCache;
  const disk = c.disk;
  return {
    hits: c.hits, misses: c.misses, entries: c.store.count, bytes: c.store.bytes, evictions: c.store.evictions,
    diskEntries: disk?.count ?? 0, diskBytes: disk?.bytes ?? 0, diskEvictions: disk?.evictions ?? 0,
  };
}

// --- the formats ---------------------------------------------------------------

const JSON_FORMAT = makeFormat('application/json');
const HTML_FORMAT = makeFormat('text/html', { charset: 'utf-8' });
const PROMETHEUS_PARAMS = { version: '0.0.4' };
const PROMETHEUS_FORMAT = makeFormat('text/plain', { version: '0.0.4', charset: 'utf-8' });

export type StatusFormat = 'json' | 'html' | 'prometheus';

/**
 * `?format=` first, then the client's q for each type; a tie (`*\/*`, no
 * Accept) or nothing acceptable gives JSON (RFC 9110 §12.5.1 lets a server
 * disregard Accept rather than answer 406).
 */
export function chooseFormat(accept: string | undefined, query: string): StatusFormat {
  if (query !== '') {
    const asked = new URLSearchParams(query).get('format');
    if (asked === 'json' || asked === 'html' || asked === 'prometheus') return asked;
  }
  if (accept === undefined) return 'json';
  const json = qualityOfType(accept, 'application/json');
  const html = qualityOfType(accept, 'text/html');
  const prom = qualityOfType(accept, 'text/plain', PROMETHEUS_PARAMS);
  if (html > json && html >= prom) return 'html';
  if (prom > json && prom > html) return 'prometheus';
  return 'json';
}

/** Prometheus text format 0.0.4: a label value escapes \, " and newline. */
function label(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

export function prometheus(s: Status): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
  };
  metric('streamstack_process_id', 'gauge', 'The process that answered (a worker, under --workers).', [['', s.pid]]);
  if (s.workers !== undefined) metric('streamstack_workers', 'gauge', 'Worker processes whose numbers are summed here.', [['', s.workers.length]]);
  metric('streamstack_uptime_seconds', 'gauge', 'Seconds since the server started.', [['', s.uptimeSeconds]]);
  metric('streamstack_start_time_seconds', 'gauge', 'When the server started, in seconds since the Unix epoch.',
    [['', Date.parse(s.startedAt) / 1000]]);
  metric('streamstack_connections', 'gauge', 'Client connections by state.',
    STATES.map((state) => [`{state="${state}"}`, s.connections[state]]));
  metric('streamstack_requests_in_flight', 'gauge', 'Requests read from clients and not yet answered.', [['', s.inFlight]]);
  metric('streamstack_requests_total', 'counter', 'Replies written since start, by status class.',
    CLASSES.map((c) => [`{class="${c}"}`, s.requests[c]]));
  metric('streamstack_cache_hits_total', 'counter', 'GET and HEAD requests answered from the memory cache.', [['', s.cache.hits]]);
  metric('streamstack_cache_misses_total', 'counter', 'GET and HEAD requests of files the memory cache could not answer.', [['', s.cache.misses]]);
  metric('streamstack_cache_documents', 'gauge', 'Documents in the memory cache.', [['', s.cache.documents]]);
  metric('streamstack_cache_bytes', 'gauge', 'Bytes held by the memory cache.', [['', s.cache.bytes]]);
  const p = s.proxyCache;
  if (p !== undefined) {
    metric('streamstack_proxy_cache_hits_total', 'counter', 'Proxied GET and HEAD requests answered from the HTTP cache.', [['', p.hits]]);
    metric('streamstack_proxy_cache_misses_total', 'counter', 'Proxied GET and HEAD requests the HTTP cache had nothing for.', [['', p.misses]]);
    metric('streamstack_proxy_cache_entries', 'gauge', 'Responses stored by the HTTP cache, by tier.', [['{tier="memory"}', p.entries], ['{tier="disk"}', p.diskEntries]]);
    metric('streamstack_proxy_cache_bytes', 'gauge', 'Bytes stored by the HTTP cache, by tier.', [['{tier="memory"}', p.bytes], ['{tier="disk"}', p.diskBytes]]);
    metric('streamstack_proxy_cache_evictions_total', 'counter', 'Responses the HTTP cache evicted for room, by tier.', [['{tier="memory"}', p.evictions], ['{tier="disk"}', p.diskEvictions]]);
  }
  metric('streamstack_upstream_connections', 'gauge', 'Connections to upstream origins, by state.',
    s.upstreams.flatMap((u): [string, number][] => [
      [`{origin="${label(u.origin)}",state="idle"}`, u.idle],
      [`{origin="${label(u.origin)}",state="busy"}`, u.busy],
    ]));
  metric('streamstack_upstream_waiting', 'gauge', 'Requests waiting for a connection to an upstream origin.',
    s.upstreams.map((u) => [`{origin="${label(u.origin)}"}`, u.waiting]));
  return out.join('\n') + '\n';
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// --- the charts ----------------------------------------------------------------
// Drawn on the server, so the page shows them without JavaScript, and again
// in the browser from the JSON view every few seconds by the page's one
// inline script. Both use the two functions below: the script carries their
// source (Function.prototype.toString), so they must stay self-contained.

const CHART_W = 600;
const CHART_H = 120;

/** A round upper bound for a chart's scale: 1, 2 or 5 times a power of ten, at least `v`. */
export function scaleMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** An SVG path through the values (null is a gap), left to right across `w`, 0 at the bottom of `h`, `max` at the top. */
export function pathOf(values: readonly (number | null)[], max: number, w: number, h: number): string {
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  let d = '';
  let pen = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      pen = false;
      continue;
    }
    const y = h - (Math.min(v, max) / max) * h;
    d += (pen ? 'L' : 'M') + (Math.round(i * step * 10) / 10) + ' ' + (Math.round(y * 10) / 10);
    // A point alone gets a zero-length segment: with round caps it shows as a dot (SVG 2 §13.7).
    const next = values[i + 1];
    if (!pen && (next === null || next === undefined)) d += 'h0';
    pen = true;
  }
  return d;
}

interface Line {
  id: string;
  label: string;
  values: (number | null)[];
}

function chart(id: string, title: string, unit: string, lines: Line[]): string {
  let top = 0;
  for (const l of lines) for (const v of l.values) if (v !== null && v > top) top = v;
  const max = scaleMax(top);
  const paths = lines.map((l, i) =>
    `<path id="${id}-${l.id}" class="line c${i}" d="${pathOf(l.values, max, CHART_W, CHART_H)}"/>`).join('');
  const legend = lines.map((l, i) => `<span class="key c${i}">${escapeHtml(l.label)}</span>`).join(' ');
  return `<figure><figcaption>${escapeHtml(title)} ${legend}</figcaption>
<svg id="${id}" viewBox="-40 -8 ${CHART_W + 48} ${CHART_H + 24}" role="img" aria-label="${escapeHtml(title)}">
<line class="axis" x1="0" y1="${CHART_H}" x2="${CHART_W}" y2="${CHART_H}"/><line class="grid" x1="0" y1="0" x2="${CHART_W}" y2="0"/>
<text class="max" x="-6" y="4" text-anchor="end" id="${id}-max">${max}</text><text x="-6" y="${CHART_H + 4}" text-anchor="end">0</text>
<text x="0" y="${CHART_H + 15}">5 min ago</text><text x="${CHART_W}" y="${CHART_H + 15}" text-anchor="end">now</text>
<text x="${CHART_W / 2}" y="${CHART_H + 15}" text-anchor="middle">${escapeHtml(unit)}</text>
${paths}</svg></figure>`;
}

function charts(series: Series): string {
  const p = series.points;
  return chart('rps', 'Requests per second', `per second, ${series.bucketSeconds} s buckets`, [{ id: 'rps', label: 'requests/s', values: p.map((x) => x.rps) }])
    + '\n' + chart('latency', 'Latency', 'milliseconds', [
      { id: 'p50', label: 'p50', values: p.map((x) => x.p50) },
      { id: 'p90', label: 'p90', values: p.map((x) => x.p90) },
      { id: 'p99', label: 'p99', values: p.map((x) => x.p99) },
    ]);
}

/** Polls the JSON view and redraws the charts; it loads nothing else (the CSP allows only this script and same-origin fetches). */
const SCRIPT = `(() => {
const scaleMax = ${scaleMax.toString()};
const pathOf = ${pathOf.toString()};
const W = ${CHART_W}, H = ${CHART_H};
function draw(id, lines) {
  let top = 0;
  for (const l of lines) for (const v of l.values) if (v !== null && v > top) top = v;
  const max = scaleMax(top);
  document.getElementById(id + '-max').textContent = String(max);
  for (const l of lines) document.getElementById(id + '-' + l.id).setAttribute('d', pathOf(l.values, max, W, H));
}
async function tick() {
  try {
    const res = await fetch(location.pathname + '?format=json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) return;
    const s = await res.json();
    const p = s.series.points;
    draw('rps', [{ id: 'rps', values: p.map((x) => x.rps) }]);
    draw('latency', ['p50', 'p90', 'p99'].map((k) => ({ id: k, values: p.map((x) => x[k]) })));
    document.getElementById('uptime').textContent = s.uptimeSeconds.toFixed(0);
  } catch {}
}
setInterval(tick, 2000);
})();`;
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');
/** Styles and this one script inline; fetches to this origin only; nothing else. */
export const HTML_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; connect-src 'self'`;

/** A self-contained page: inline style and one inline script, no external resource (its CSP says so too). */
export function html(s: Status): string {
  const row = (cells: (string | number)[], th = false): string =>
    `<tr>${cells.map((c) => (th ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`;
  const table = (head: string[], rows: (string | number)[][]): string =>
    `<table>${row(head, true)}${rows.map((r) => row(r)).join('')}</table>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>streamstack status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>:root{color-scheme:light dark;--fg:#222;--bg:#fff;--line:#ccc;--head:#eee;--muted:#777}
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--bg:#18181b;--line:#3f3f46;--head:#27272a;--muted:#a1a1aa}}
body{font:14px system-ui,sans-serif;margin:2em;color:var(--fg);background:var(--bg)}table{border-collapse:collapse;margin:0 0 1.5em}
th,td{border:1px solid var(--line);padding:.2em .6em;text-align:right}th{background:var(--head)}td:first-child{text-align:left}
figure{margin:0 0 1.5em;max-width:48rem}figcaption{font-weight:600;margin-bottom:.3em}svg{width:100%;height:auto;overflow:visible}
svg text{font-size:10px;fill:var(--muted)}.axis,.grid{stroke:var(--line)}.grid{stroke-dasharray:3 3}
.line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}.key{font-weight:400;font-size:12px;margin-left:.8em}
.key::before{content:"";display:inline-block;width:1em;height:3px;margin-right:.3em;vertical-align:middle;background:currentColor}
.c0{stroke:#2563eb;color:#2563eb}.c1{stroke:#d97706;color:#d97706}.c2{stroke:#dc2626;color:#dc2626}</style>
</head><body>
<h1>streamstack status</h1>
<p>Up <span id="uptime">${escapeHtml(s.uptimeSeconds.toFixed(0))}</span> s, since ${escapeHtml(s.startedAt)}; process ${escapeHtml(s.pid)}.</p>
<h2>The last five minutes</h2>
${charts(s.series)}
<h2>Connections</h2>
${table(['State', 'Connections'], [...STATES.map((st) => [st, s.connections[st]]), ['requests in flight', s.inFlight]])}
<h2>Requests since start</h2>
${table(['Status', 'Replies'], CLASSES.map((c) => [c, s.requests[c]]))}
<h2>Memory cache</h2>
${table(['', 'Count'], [['hits', s.cache.hits], ['misses', s.cache.misses], ['documents', s.cache.documents], ['bytes', s.cache.bytes]])}
${s.proxyCache === undefined ? '' : `<h2>HTTP cache</h2>
${table(['', 'Memory', 'Disk'], [
    ['hits', s.proxyCache.hits, ''], ['misses', s.proxyCache.misses, ''],
    ['stored responses', s.proxyCache.entries, s.proxyCache.diskEntries], ['bytes stored', s.proxyCache.bytes, s.proxyCache.diskBytes],
    ['evictions', s.proxyCache.evictions, s.proxyCache.diskEvictions],
  ])}
`}<h2>Upstreams</h2>
${s.upstreams.length === 0 ? '<p>No upstream connections.</p>' : table(['Origin', 'Idle', 'Busy', 'Waiting'], s.upstreams.map((u) => [u.origin, u.idle, u.busy, u.waiting]))}
${s.workers === undefined ? '' : `<h2>Workers</h2>
${table(['Process', 'Up (s)', 'Open connections', 'Replies', 'Cache hits'], s.workers.map((w) => [
  w.pid, w.uptimeSeconds.toFixed(0), w.connections.open, CLASSES.reduce((n, c) => n + w.requests[c], 0), w.cache.hits,
]))}
`}<script>${SCRIPT}</script>
</body></html>
`;
}

const ALLOW = 'GET, HEAD, OPTIONS';

/**
 * The answer to a request for the Status path. It bypasses translation, so
 * the Protect rule that matches the path is checked here, as `handle()`
 * checks it for any other path.
 */
export function statusPage(server: Server, request: Request, rules: RuleSet): Promise<Reply> | Reply {
  const method = request.method;
  if (method === 'OPTIONS') return { status: 204, headers: { Allow: ALLOW }, format: null, length: -1, body: null };
  if (method !== 'GET' && method !== 'HEAD') {
    return errorReply(request.fail(new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', method, { headers: { Allow: ALLOW } })));
  }
  const denied = authorize(request, rules, rules.protectFor(request.decodedPath!));
  if (denied === null) return render(server, request);
  return denied instanceof Promise ? denied.then((d) => d ?? render(server, request)) : denied;
}

function render(server: Server, request: Request): Reply | Promise<Reply> {
  const own = snapshot(server);
  if (server.gatherStatus === undefined) return reply(own, request);
  return server.gatherStatus(own).then((all) => reply(all, request));
}

function reply(s: Status, request: Request): Reply {
  const chosen = chooseFormat(request.headers.accept, request.query);
  let text: string;
  let format: Format;
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', Vary: 'Accept' };
  if (chosen === 'html') {
    text = html(s);
    format = HTML_FORMAT;
    headers['Content-Security-Policy'] = HTML_CSP;
  } else if (chosen === 'prometheus') {
    text = prometheus(s);
    format = PROMETHEUS_FORMAT;
  } else {
    text = JSON.stringify(s, null, 2) + '\n';
    format = JSON_FORMAT;
  }
  const body = Buffer.from(text, 'utf8');
  return { status: 200, headers, format, length: body.length, body };
}
