// The invariants of one connection, judged from what the client sent and
// received: the answers parse, none answers a request that was not sent, they
// come in request order with the status and bytes a correct server gives, a
// complete request is never left unanswered, and nothing follows a reply that
// said `Connection: close`. A request whose upstream dies mid-body (`cut`)
// gets a reply cut short and a close, or a close, or a 502; nothing after it
// is owed.

import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { hasToken, parseResponses } from './responses.js';

/** What the client may wait for, known before it runs: see play(). */
export function plan(conn) {
  const entries = conn.entries;
  const strictPrefix = prefixLength(entries);
  const headKind = (i) => (i < strictPrefix ? (entries[i].head ? 'yes' : 'no') : 'maybe');
  return { strictPrefix, headKind };
}

function prefixLength(entries) {
  let n = 0;
  while (n < entries.length && entries[n].strict) n++;
  return n;
}

/** Strict requests the client must get answers to, given the bytes written. */
export function owed(conn, written) {
  const { strictPrefix } = plan(conn);
  let n = 0;
  for (let i = 0; i < strictPrefix; i++) {
    const e = conn.entries[i];
    const needed = e.onHead ? e.start + e.bodyStart : e.end;
    if (written < needed) break;
    n++;
    // Its answer may be cut short by a close: nothing after it is owed.
    if (e.closes || e.expect.cut) break;
  }
  return n;
}

/** Whether the written bytes stop inside a request. */
export function endsInside(conn, written) {
  return conn.entries.some((e) => written > e.start && written < e.end);
}

/** Problems with one connection's exchange, as sentences; [] when all is well. */
export function checkConnection(conn, result) {
  const problems = [];
  const { strictPrefix, headKind } = plan(conn);
  const p = parseResponses(result.raw, headKind, true);
  const finals = p.responses;
  if (p.error !== null) problems.push(`the response bytes are not HTTP ${p.error}`);
  // Past the first lenient request, where a body starts is a guess (a HEAD in disguise): judged only before.
  const cut = p.incomplete && finals.length < strictPrefix;
  // Where the upstream died mid-body, the reply cut short by a close is the right answer.
  const cutExpected = cut && conn.entries[finals.length].expect.cut === true;
  if (cut && !cutExpected && result.closedByServer && !result.reset) problems.push(`the server closed in the middle of response #${finals.length}`);
  if (cut && result.waitedOut !== null && !result.closedByServer) problems.push(`response #${finals.length} stalled midway`);

  const started = conn.entries.filter((e) => e.start < result.written).length;
  if (finals.length > started + 1) {
    problems.push(`${finals.length} responses to ${started} request(s) started: answers to requests never sent`);
  }

  // Nothing may follow a reply that announced the close.
  const closer = finals.findIndex((r) => hasToken(r.headers.connection, 'close'));
  if (closer !== -1 && finals[closer].end < result.raw.length) {
    problems.push(`${result.raw.length - finals[closer].end} byte(s) after response #${closer}, which said Connection: close`);
  }

  for (let i = 0; i < Math.min(finals.length, strictPrefix); i++) {
    const e = conn.entries[i];
    if (result.written >= e.end || (e.onHead && result.written >= e.start + e.bodyStart)) {
      const why = mismatch(e, finals[i]);
      if (why !== null) problems.push(`response #${i} to ${e.label}: ${why}`);
    } else if (e.stores && finals[i].status < 300) {
      // The client stopped inside this request: storing what came would keep a truncated document.
      problems.push(`response #${i} ${finals[i].status} to ${e.label}, of which only ${result.written - e.start} of ${e.end - e.start} bytes were sent`);
    }
    for (const interim of finals[i].interim) {
      if (interim.status !== 100 || !e.continue) problems.push(`interim ${interim.status} before response #${i} to ${e.label}, which did not ask for it`);
    }
    if (finals[i].interim.length > 1) problems.push(`${finals[i].interim.length} interim responses to ${e.label}`);
    if (e.closes && i + 1 < finals.length) problems.push(`response #${i + 1} after ${e.label}, which asked to close`);
  }

  // Every complete request is answered unless the server said it would close first.
  if (!result.reset) {
    const n = owed(conn, result.written);
    const closedBefore = (i) => finals.slice(0, i).some((r) => hasToken(r.headers.connection, 'close'));
    for (let i = finals.length; i < n; i++) {
      if (closedBefore(i)) break;
      const e = conn.entries[i];
      if (e.expect.cut && result.closedByServer) break;
      if (result.waitedOut !== null && !result.closedByServer) problems.push(`no response to ${e.label} (#${i}) within ${result.ms} ms: the connection hangs`);
      else problems.push(`no response to ${e.label} (#${i}): the server closed without answering a complete request`);
      break;
    }
  }
  if (result.waitedOut !== null && problems.length === 0 && (result.ended || endsInside(conn, result.written))) {
    problems.push(`the server did not close within ${result.ms} ms, waiting for the ${result.waitedOut}`);
  }
  return problems;
}

/** Why `res` is not what a correct server answers to the strict request `e`, or null. */
function mismatch(e, res) {
  const x = e.expect;
  if (x.cut && !x.statuses.includes(res.status)) return `a complete ${res.status} though the upstream died mid-body: expected a reply cut short and a close, or ${x.statuses.join(' or ')} (${preview(res.body)})`;
  if (!x.statuses.includes(res.status)) return `status ${res.status}, expected ${x.statuses.join(' or ')} (${preview(res.body)})`;
  if (x.location !== undefined && res.headers.location !== x.location) return `Location ${JSON.stringify(res.headers.location)}, expected ${x.location}`;
  if (x.contains !== undefined && !res.body.toString('latin1').includes(x.contains)) return `body lacks ${JSON.stringify(x.contains)}`;
  if (x.vary !== undefined && !hasToken(res.headers.vary, x.vary)) {
    // RFC 9110 §15.4.5: a 304 carries the Vary a 200 would. Checked where the
    // HTTP cache made the 304 (a 304 relayed from the origin is the origin's).
    const made = res.status === 304 && /; (hit|fwd=stale)/.test(res.headers['cache-status'] ?? '');
    if (res.status === 200 || made) return `no Vary: ${x.vary} on a ${res.status} (${JSON.stringify(res.headers.vary ?? null)})`;
  }
  if (x.body === undefined || (res.status !== 200 && res.status !== 206)) return null;
  const coding = res.headers['content-encoding'];
  if (e.head) {
    const cl = res.headers['content-length'];
    if (coding === undefined && cl !== undefined && Number(cl) !== x.body.length) return `HEAD says Content-Length ${cl}, the document has ${x.body.length} bytes`;
    return null;
  }
  let body = res.body;
  if (coding !== undefined) {
    if (!x.decode) return `Content-Encoding ${coding} without Accept-Encoding`;
    try {
      body = decode(coding, body);
    } catch (err) {
      return `a ${coding} body that does not decode: ${err.message}`;
    }
  }
  if (!body.equals(x.body)) return `${body.length} body bytes differ from the document's ${x.body.length} (first difference at ${firstDifference(body, x.body)})`;
  return null;
}

function decode(coding, body) {
  for (const c of coding.split(',').map((s) => s.trim().toLowerCase()).reverse()) {
    if (c === 'gzip' || c === 'x-gzip') body = gunzipSync(body);
    else if (c === 'br') body = brotliDecompressSync(body);
    else if (c === 'deflate') body = inflateSync(body);
    else if (c !== 'identity') throw new Error(`unknown coding ${c}`);
  }
  return body;
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function preview(body) {
  return JSON.stringify(body.toString('latin1', 0, 80));
}
