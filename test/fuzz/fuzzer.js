// The socket-level fuzzer (issue 9: one client must never stop or freeze the
// whole server). It starts the real server in this process over a fresh
// document root, plays generated sequences of connections against it, and
// after each sequence checks that the process is unharmed: no uncaught
// exception, a fresh request still answered at once and exactly, every
// connection's answers in order and complete, and file descriptors, handles,
// connections and upload temporaries back to where they were; the HTTP
// cache's memory cache keeps its invariants, and the HTTP client module holds
// no read buffer once every connection is gone.
//
// The server's classes are passed in, so one fuzzer drives the TypeScript
// sources (under vitest) and the compiled dist/ (test/fuzz/run.js) alike.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { API_BIG, BIG, CACHED, clearUploads, FILE, makeFuzzRoot, rulesFor, startUpstream, temporaries, VARY, WIRE } from './fixture.js';
import { formatSequence, generateSequence, showBytes } from './generate.js';
import { play } from './client.js';
import { checkConnection, endsInside, owed, plan } from './check.js';
import { parseResponses } from './responses.js';
import { startWatchdog } from './watchdog.js';

/** A fresh request must be answered within this. */
const PROBE_MS = 2000;
/**
 * The fresh requests: files from memory, from disk, and compressed from
 * memory (`encoded`: the answer must be gzip-coded); then every resource the
 * HTTP cache may hold, and the gzip variant of the one that varies on it;
 * and the large `/api/` body, relayed through the read buffers.
 */
const PROBES = [
  { target: '/f/10k.bin', file: true },
  { target: '/f/300k.bin', file: true },
  { target: '/f/10k.txt', file: true, gzip: true, encoded: true },
  ...['/c/small', '/c/reval', '/c/cut', ...BIG].map((target) => ({ target, body: CACHED[target].body })),
  { target: '/c/small', gzip: true, body: CACHED['/c/small'].body },
  { target: VARY.path, body: VARY.identity },
  { target: VARY.path, gzip: true, encoded: true, body: VARY.gzip },
  // Relayed, not cached, across several read buffers.
  { target: API_BIG.target, body: API_BIG.body },
];
/** A GET whose upstream dies mid-body. */
const CUT = '/c/cut?cut=1';
/**
 * Resources must come back to their baseline within this once every
 * connection closed. A server that closed its side first stops reading, so it
 * notices the client's FIN only when its write timeout ends the wait
 * (checked once per shortest timeout): that much, and a second more.
 */
const SETTLE_MS = WIRE.writeTimeout + Math.min(WIRE.headerTimeout, WIRE.bodyTimeout, WIRE.keepAliveTimeout) + 1000;
/** Errors a server reports that only a bug makes. */
const BUG_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'AssertionError']);

export class Fuzzer {
  #Server;
  #parseRules;
  #readBuffers;
  #halfClose;
  #watchdog = null;
  #errors = [];
  #onUncaught = (err) => this.#errors.push(`uncaught exception: ${describe(err)}`);
  #onRejection = (err) => this.#errors.push(`unhandled rejection: ${describe(err)}`);
  fx = null;
  upstream = null;
  server = null;
  port = 0;
  baseline = null;

  /**
   * `Server`, `parseRules` and `readBuffers` (protocols/http-client-reads)
   * from src/ or dist/; `halfClose: false` leaves half-closes out.
   */
  constructor({ Server, parseRules, readBuffers, halfClose = true }) {
    this.#Server = Server;
    this.#parseRules = parseRules;
    this.#readBuffers = readBuffers;
    this.#halfClose = halfClose;
  }

  async start() {
    this.#watchdog = startWatchdog();
    this.fx = makeFuzzRoot();
    this.upstream = await startUpstream();
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', this.#onRejection);
    await this.#listen();
  }

  async #listen() {
    const rules = this.#parseRules(rulesFor(this.upstream.port), 'fuzz.rules', { serverRoot: this.fx.root });
    const events = {
      onError: (err) => {
        if (err instanceof Error && BUG_ERRORS.has(err.name)) this.#errors.push(`the server reported a bug: ${describe(err)}`);
      },
    };
    this.server = new this.#Server(rules, { wire: WIRE, file: FILE, events });
    ({ port: this.port } = await this.server.listen(0, '127.0.0.1'));
    // Warm up the paths whose first use opens lasting resources, then measure.
    for (const target of ['/f/10k.bin', '/f/300k.bin', '/f/10k.txt', '/d/', '/up/', '/api/warm', '/c/small']) await fetchOnce(this.port, target, PROBE_MS);
    await fetchOnce(this.port, '/f/10k.txt', PROBE_MS, 'Accept-Encoding: gzip\r\n');
    await settleConnections(this.server, SETTLE_MS);
    this.baseline = resources();
  }

  /** A fresh server on the same root: after a failure, its state is not to be trusted. */
  async restart() {
    await this.server.close(100).catch(() => {});
    clearUploads(this.fx.upload);
    this.#errors = [];
    await this.#listen();
  }

  async stop() {
    process.off('uncaughtException', this.#onUncaught);
    process.off('unhandledRejection', this.#onRejection);
    if (this.server !== null) await this.server.close(100).catch(() => {});
    await this.upstream?.close();
    this.fx?.cleanup();
    await this.#watchdog?.stop();
  }

  /** Plays sequence `index` of `seed` and checks every invariant: { seq, results, problems }. */
  async runSequence(seed, index) {
    const seq = generateSequence(seed, index, this.fx.files, { halfClose: this.#halfClose });
    const flags = seq.halfClose ? '' : ' --no-half-close';
    this.#watchdog.describe(`seed ${seed} sequence ${index} (replay: npm run fuzz -- --seed ${seed} --only ${index}${flags})\n${formatSequence(seq)}`);
    this.#errors = [];
    const stuckLimit = Math.max(WIRE.headerTimeout, WIRE.bodyTimeout) + WIRE.writeTimeout + 1500;
    const results = await Promise.all(seq.connections.map((conn) => {
      const written = intendedWritten(conn);
      return play(this.port, conn, {
        owedCount: owed(conn, written),
        headKind: plan(conn).headKind,
        incompleteTail: endsInside(conn, written),
        stuckLimit,
      });
    }));
    const problems = [];
    seq.connections.forEach((conn, c) => {
      for (const p of checkConnection(conn, results[c])) problems.push(`connection ${c}: ${p}`);
    });
    // Errors from the exchange itself come first: they may explain what follows.
    await new Promise((r) => setImmediate(r));
    problems.push(...this.#errors.splice(0));
    // Each on its own connection, all at once.
    const whys = await Promise.all(PROBES.map((p) => probe(this.port, p.file ? { ...p, body: this.fx.files[p.target] } : p)));
    PROBES.forEach((p, k) => {
      if (whys[k] !== null) problems.push(`a fresh GET ${p.target}${p.gzip ? ' (gzip)' : ''}${p.extra ? ` (${p.extra.trim()})` : ''} afterwards ${whys[k]}`);
    });
    // RFC 9111 §3.3: a response cut short upstream is never stored, so never served.
    const cut = await fetchOnce(this.port, CUT, PROBE_MS);
    if (typeof cut !== 'string' || !cut.startsWith('was closed')) problems.push(`a fresh GET ${CUT} afterwards ${typeof cut === 'string' ? cut : `got a complete ${cut.status}`}, not a reply cut short`);
    const why = await probe(this.port, { target: CUT, extra: 'Cache-Control: only-if-cached\r\n', status: 504 });
    if (why !== null) problems.push(`GET ${CUT} with only-if-cached afterwards ${why}`);
    problems.push(...(await this.#settle()));
    problems.push(...this.#errors.splice(0));
    if (problems.length === 0) clearUploads(this.fx.upload);
    return { seq, results, problems };
  }

  /** Waits for connections, fds, handles and temporaries to come back; what did not, as problems. */
  async #settle() {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const why = [];
      why.push(...this.server.http.check().map((broken) => `a connection's invariant broke: ${broken}`));
      const connections = this.server.http.connections;
      if (connections > 0) why.push(`${connections} connection(s) still tracked by the server: ${JSON.stringify(this.server.http.stats())}`);
      why.push(...exceeds(resources(), this.baseline));
      try {
        this.server.proxyCache.store.cache.check();
      } catch (err) {
        why.push(`the HTTP cache's invariant broke: ${err.message}`);
      }
      const held = this.#readBuffers.held;
      if (held !== 0) why.push(`${held} upstream read buffer(s) still held`);
      const tmp = temporaries(this.fx.upload);
      if (tmp.length > 0) why.push(`temporary upload files left: ${tmp.join(', ')}`);
      if (why.length === 0) return [];
      if (Date.now() > deadline) return why.map((w) => `${SETTLE_MS} ms after the last connection closed: ${w}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Bytes the script writes if the server lets it. */
function intendedWritten(conn) {
  let n = 0;
  for (const s of conn.steps) if (s.op === 'write') n = Math.max(n, s.to);
  return n;
}

function describe(err) {
  if (err instanceof Error) return (err.stack ?? `${err.name}: ${err.message}`).split('\n').slice(0, 6).join('\n      ');
  return String(err);
}

/** fds (Linux) and active handles by kind. */
export function resources() {
  let fds = -1;
  try {
    fds = fs.readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux: handles only
  }
  const handles = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  return { fds, handles };
}

/** The runner's own stdio and children: a write to a piped stdout is active while in flight. */
const NOT_THE_SERVERS = new Set(['PipeWrap', 'TTYWrap', 'ProcessWrap', 'SignalWrap', 'PipeConnectWrap', 'WriteWrap']);

function exceeds(now, base) {
  const out = [];
  if (now.fds > base.fds && base.fds >= 0) out.push(`${now.fds} open fds, baseline ${base.fds}`);
  for (const [kind, n] of Object.entries(now.handles)) {
    if (NOT_THE_SERVERS.has(kind)) continue;
    if (n > (base.handles[kind] ?? 0)) out.push(`${n} active ${kind}, baseline ${base.handles[kind] ?? 0}`);
  }
  return out;
}

async function settleConnections(server, ms) {
  const deadline = Date.now() + ms;
  while (server.http.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** One GET on a new connection: { status, body } or a reason string. */
export function fetchOnce(port, target, ms, extra = '') {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => {
      const got = Buffer.concat(chunks);
      finish(`got no complete answer within ${ms} ms (${got.length} bytes: ${showBytes(got, 120)})`);
    }, ms);
    socket.on('error', (err) => finish(`failed: ${err.code ?? err.message}`));
    socket.on('close', () => finish(`was closed before the answer (${Buffer.concat(chunks).length} bytes)`));
    socket.on('data', (c) => {
      chunks.push(c);
      const p = parseResponses(Buffer.concat(chunks));
      if (p.error !== null) finish(`got bytes that are not HTTP ${p.error}`);
      else if (p.responses.length > 0) finish(p.responses[0]);
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: probe\r\n${extra}\r\n`);
  });
}

/**
 * One probe: `gzip` asks for it and decodes a gzip answer; `encoded`: the
 * answer must be gzip; `extra` fields; `status` other than 200: only that.
 */
async function probe(port, { target, body: expected, gzip = false, encoded = false, extra = '', status = 200 }) {
  const r = await fetchOnce(port, target, PROBE_MS, (gzip ? 'Accept-Encoding: gzip\r\n' : '') + extra);
  if (typeof r === 'string') return r;
  if (r.status !== status) return `got status ${r.status}, expected ${status}`;
  if (status !== 200) return null;
  let body = r.body;
  const coding = r.headers['content-encoding'];
  if (encoded && coding !== 'gzip') return `was not gzip-encoded (${coding ?? 'identity'})`;
  if (coding !== undefined && !(gzip && coding === 'gzip')) return `was ${coding}-encoded${gzip ? '' : ' without Accept-Encoding'}`;
  if (coding === 'gzip') {
    try {
      body = gunzipSync(body);
    } catch (err) {
      return `got a gzip body that does not decode: ${err.message}`;
    }
  }
  if (!body.equals(expected)) return `got ${body.length} bytes that are not the document's ${expected.length}`;
  return null;
}

/** A failure as text: what broke, the sequence as a script, and what each connection saw. */
export function report({ seq, results, problems }) {
  const flags = seq.halfClose ? '' : ' --no-half-close';
  const out = [`FAIL seed ${seq.seed} sequence ${seq.index} (replay: npm run fuzz -- --seed ${seq.seed} --only ${seq.index}${flags})`];
  for (const p of problems) out.push(`  - ${p}`);
  out.push(formatSequence(seq));
  out.push('  what each connection saw:');
  results.forEach((r, c) => {
    const how = [r.reset ? 'client reset' : r.ended ? 'client half-closed' : null, r.closedByServer ? 'server closed' : null, r.error]
      .filter(Boolean).join(', ');
    out.push(`    connection ${c}: wrote ${r.written} of ${seq.connections[c].stream.length} bytes in ${r.ms} ms${how ? `; ${how}` : ''}`);
    if (r.log.length > 0) out.push(`      events: ${r.log.map(([ms, what]) => `${ms} ms ${what}`).join('; ')}`);
    out.push(`      received ${showBytes(r.raw, 400)}`);
  });
  return out.join('\n');
}
