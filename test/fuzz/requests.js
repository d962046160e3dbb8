// Requests the fuzzer sends: well-formed ones with what a correct server must
// answer (status, exact bytes, Location), and the mutations that make one
// malformed (byte flips, stray CR/LF/NUL, conflicting framing, bad chunks,
// too many fields, obs-fold, bare LF, unknown methods and versions). A
// mutated request is "lenient": any answer is allowed, but the counting and
// ordering invariants still hold for it.

import { API_BIG, BIG, CACHED, VARY } from './fixture.js';

export const HOST = 'fuzz';

const UPLOAD_NAMES = ['a.txt', 'b.bin', 'c%20d.txt', 'e.txt'];
const NOISE = [
  'User-Agent: fuzz/1.0', 'Accept: */*', 'Accept-Language: en;q=0.8, fr', 'Cookie: a=b; c=d',
  'If-None-Match: "nope"', 'Cache-Control: no-cache', 'X-Request-Id: 42', 'Accept-Charset: utf-8, iso-8859-1;q=0.5',
  'Referer: http://fuzz/', 'DNT: 1',
];

/**
 * A request as bytes plus what it may get back. Fields:
 *   label       short text for the report
 *   bytes       Buffer, as written
 *   bodyStart   offset of the body in `bytes` (bytes.length when none)
 *   strict      a correct server's answer is known (`expect`)
 *   expect      { statuses, body?, length?, location?, contains?, decode? } for strict requests
 *   head        the request is HEAD (its response has no body)
 *   continue    it carries Expect: 100-continue
 *   closes      the server must close after answering (Connection: close, HTTP/1.0)
 *   onHead      the answer may come once the head is in (the body need not be sent)
 *   stores      a 2xx answer means the body was stored: never for a body cut short
 *   mutation    what made it lenient, or null
 */
function make(rand, { method, target, headers = [], body = null, chunked = false, version = '1.1', expect, label }) {
  const lines = [`${method} ${target} HTTP/${version}`];
  const fields = [...headers];
  if (version === '1.1' || rand.chance(0.5)) fields.push(`Host: ${HOST}`);
  for (let k = rand.int(0, 2); k > 0; k--) fields.push(rand.pick(NOISE));
  let bodyBytes = Buffer.alloc(0);
  if (body !== null) {
    if (chunked) {
      fields.push('Transfer-Encoding: chunked');
      bodyBytes = chunkedBody(rand, body);
    } else {
      fields.push(`Content-Length: ${body.length}`);
      bodyBytes = body;
    }
  }
  shuffle(rand, fields);
  const head = Buffer.from([...lines, ...fields].join('\r\n') + '\r\n\r\n', 'latin1');
  const lower = fields.map((f) => f.toLowerCase());
  return {
    kind: 'request',
    label: label ?? `${method} ${target}${body !== null ? ` +${body.length} B${chunked ? ' chunked' : ''}` : ''}`,
    method,
    bytes: Buffer.concat([head, bodyBytes]),
    bodyStart: head.length,
    strict: true,
    expect,
    head: method === 'HEAD',
    continue: lower.includes('expect: 100-continue') && version === '1.1',
    closes: lower.includes('connection: close') || (version === '1.0' && !lower.includes('connection: keep-alive')),
    onHead: false,
    stores: false,
    mutation: null,
  };
}

function shuffle(rand, list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = rand.int(0, i);
    [list[i], list[j]] = [list[j], list[i]];
  }
}

/** RFC 9112 §7.1: random chunk sizes, sometimes extensions, sometimes a trailer. */
export function chunkedBody(rand, body) {
  const parts = [];
  let i = 0;
  while (i < body.length) {
    const n = Math.min(body.length - i, rand.pick([1, 7, 100, 4096, 20000, 65536]));
    const size = rand.chance(0.3) ? n.toString(16).toUpperCase() : n.toString(16);
    const ext = rand.chance(0.1) ? ';ext=1' : '';
    parts.push(Buffer.from(`${size}${ext}\r\n`, 'latin1'), body.subarray(i, i + n), Buffer.from('\r\n'));
    i += n;
  }
  parts.push(Buffer.from(rand.chance(0.1) ? '0\r\nX-Trailer: t\r\n\r\n' : '0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

function sizedBody(rand, sizes) {
  const n = rand.pick(sizes);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + ((i * 7 + n) % 26);
  return b;
}

function maybeExpect(rand, headers, p) {
  if (rand.chance(p)) headers.push('Expect: 100-continue');
}

// --- well-formed requests -----------------------------------------------------

function getFile(rand, files) {
  const target = rand.pick(Object.keys(files));
  const data = files[target];
  const method = rand.chance(0.25) ? 'HEAD' : 'GET';
  const headers = [];
  let statuses = [200];
  let body = data;
  let decode = false;
  // RFC 9110 §14.2: only GET has range handling; a HEAD ignores Range.
  if (data.length > 0 && method === 'GET' && rand.chance(0.2)) {
    const a = rand.int(0, data.length - 1);
    const b = rand.int(a, Math.min(data.length - 1, a + 5000));
    headers.push(`Range: bytes=${a}-${b}`);
    statuses = [206];
    body = data.subarray(a, b + 1);
  } else if (rand.chance(0.3)) {
    headers.push(`Accept-Encoding: ${rand.pick(['gzip', 'br', 'deflate', 'gzip, deflate, br', 'identity', 'br;q=0.5, gzip'])}`);
    decode = true;
  }
  let form = target;
  const r = rand.float();
  if (r < 0.1) form = `http://${HOST}${target}`;
  else if (r < 0.15) form = target.replace(/\.([a-z]+)$/, (_, ext) => `.%${ext.charCodeAt(0).toString(16)}${ext.slice(1)}`);
  else if (r < 0.18) form = `/d/..${target}`;
  const version = rand.chance(0.06) ? '1.0' : '1.1';
  if (version === '1.0' && rand.chance(0.5)) headers.push('Connection: keep-alive');
  if (version === '1.1' && rand.chance(0.06)) headers.push('Connection: close');
  return make(rand, { method, target: form, headers, version, expect: { statuses, body, decode } });
}

const OTHER = [
  { target: '/d/', statuses: [200], contains: 'a.txt' },
  { target: '/up/', statuses: [200] },
  { target: '/d', statuses: [308], location: '/d/' },
  { target: '/old', statuses: [301], location: '/f/three.txt' },
  { target: '/old?x=1', statuses: [301] },
  { target: '/secret/x.txt', statuses: [403] },
  { target: '/api/x?y=1', statuses: [200], contains: 'GET /x?y=1 0' },
  { target: '/nope.txt', statuses: [404] },
  { target: '/d/nope', statuses: [404] },
  { target: '/f/missing.bin', statuses: [404] },
  { target: '/up/a.txt', statuses: [200, 404] },
  { target: '/up/b.bin', statuses: [200, 404] },
];

function getOther(rand) {
  const o = rand.pick(OTHER);
  const method = rand.chance(0.25) ? 'HEAD' : 'GET';
  const headers = [];
  if (rand.chance(0.06)) headers.push('Connection: close');
  return make(rand, {
    method,
    target: o.target,
    headers,
    expect: { statuses: o.statuses, location: o.location, contains: method === 'GET' ? o.contains : undefined },
  });
}

function options(rand) {
  const o = rand.pick([
    { target: '*', statuses: [204] },
    { target: '/f/three.txt', statuses: [204] },
    { target: '/up/a.txt', statuses: [204] },
    { target: '/nope.txt', statuses: [204] },
    { target: '/api/x', statuses: [204] },
    { target: '/secret/x.txt', statuses: [403] },
  ]);
  return make(rand, { method: 'OPTIONS', target: o.target, expect: { statuses: o.statuses } });
}

function putUpload(rand) {
  const headers = [];
  const body = sizedBody(rand, [0, 1, 3, 100, 5000, 20000, 70000, 300000]);
  const chunked = body.length > 0 && rand.chance(0.3);
  if (body.length > 0) maybeExpect(rand, headers, 0.2);
  const r = rand.float();
  if (r < 0.08) return make(rand, { method: 'PUT', target: '/up/no/x.txt', headers, body, chunked, expect: { statuses: [409] } });
  if (r < 0.12) return make(rand, { method: 'PUT', target: '/up/.dot', headers, body, chunked, expect: { statuses: [404] } });
  if (rand.chance(0.2)) headers.push('Content-Type: application/octet-stream');
  const req = make(rand, { method: 'PUT', target: `/up/${rand.pick(UPLOAD_NAMES)}`, headers, body, chunked, expect: { statuses: [201, 204] } });
  req.stores = true;
  return req;
}

function deleteUpload(rand) {
  return make(rand, { method: 'DELETE', target: `/up/${rand.pick(UPLOAD_NAMES)}`, expect: { statuses: [204, 404] } });
}

function postMultipart(rand) {
  const boundary = `fuzz${rand.u32().toString(16)}`;
  const parts = [];
  for (let k = rand.int(1, 3); k > 0; k--) {
    if (rand.chance(0.2)) {
      parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`);
      continue;
    }
    const name = rand.pick(['a.txt', 'up load.txt', 'x.bin', '../evil.txt', 'C:\\dir\\w.txt']);
    const data = sizedBody(rand, [0, 5, 300, 9000]).toString('latin1');
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${data}\r\n`);
  }
  const body = Buffer.from(parts.join('') + `--${boundary}--\r\n`, 'latin1');
  const headers = [`Content-Type: multipart/form-data; boundary=${boundary}`];
  maybeExpect(rand, headers, 0.2);
  const hasFile = parts.some((p) => p.includes('filename='));
  // A form without a file part stores nothing; what it answers is the module's choice.
  const statuses = hasFile ? [201] : [200, 201, 204, 400];
  const req = make(rand, { method: 'POST', target: '/up/', headers, body, chunked: rand.chance(0.25), expect: { statuses } });
  req.stores = hasFile;
  return req;
}

function refusedWrite(rand) {
  const method = rand.pick(['PUT', 'DELETE', 'POST', 'PATCH', 'MKCOL']);
  const target = rand.pick(['/f/three.txt', '/d/', '/nope.txt', '/api/x', '/d/a.txt', '/up/a.txt', '/secret/x.txt']);
  // The upload area enables PUT, DELETE and POST: only PATCH and MKCOL are refused there.
  if (target.startsWith('/up/') && method !== 'PATCH' && method !== 'MKCOL') return putUpload(rand);
  const headers = [];
  let body = null;
  if (rand.chance(0.5)) {
    body = sizedBody(rand, [1, 100, 5000, 70000]);
    maybeExpect(rand, headers, 0.2);
  }
  const statuses = target === '/secret/x.txt' ? [403] : [405];
  const req = make(rand, { method, target, headers, body, chunked: body !== null && rand.chance(0.3), expect: { statuses } });
  // Refused on the head: the body need not follow.
  req.onHead = true;
  return req;
}

function bigDeclared(rand) {
  // 2 MB announced where 1 MB is allowed: 413 on the head, then close (the rest is too big to drop).
  const head = `PUT /up/big.bin HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 2000000\r\n\r\n`;
  const req = make(rand, { method: 'PUT', target: '/up/big.bin', expect: { statuses: [413] } });
  req.bytes = Buffer.concat([Buffer.from(head, 'latin1'), sizedBody(rand, [0, 10, 2000])]);
  req.bodyStart = head.length;
  req.label = 'PUT /up/big.bin (Content-Length: 2000000, body cut short)';
  req.onHead = true;
  return req;
}

function getWithBody(rand) {
  const body = sizedBody(rand, [1, 10, 100]);
  return make(rand, { method: 'GET', target: '/f/three.txt', body, expect: { statuses: [200], body: Buffer.from('abc') } });
}

// --- through the HTTP cache (ProxyCache /c/*) --------------------------------------

/** What the cached resources are, for the generator: a path, its bytes, and whether it may be stored. */
const CACHE_TARGETS = [
  [3, '/c/small'], [3, 'big'], [2, VARY.path], [2, '/c/reval'], [1, '/c/nostore'], [1, '/c/cut?cut=1'], [1, '/c/cut'],
];
const CACHE_AE = ['gzip', 'br', 'deflate', 'gzip, deflate, br', 'identity', 'br;q=0.5, gzip', 'GZIP'];

/**
 * A GET or HEAD of a resource behind the HTTP cache, perhaps with
 * Accept-Encoding, Range, If-None-Match, or a request directive. The answer
 * is exact where RFC 9111 makes it so, whatever the cache holds:
 * - a fresh resource is 200 with its bytes, 304 to its ETag (stored or not,
 *   the origin answers the same), 206 to a Range (answered from the store
 *   or by the upstream);
 * - `only-if-cached` (§5.2.1.7) is 200 or 504 for a fresh resource (it may
 *   have been evicted), and always 504 for what is never stored (no-store, a
 *   cut body) or never fresh (max-age=0 with must-revalidate: §4.2.4);
 * - `no-cache`, `max-age=0`, `Pragma: no-cache` validate, and give the bytes;
 * - `/c/cut?cut=1` ends mid-body upstream: a reply cut short and a close, or
 *   a 502, never a complete 200 (§3.3: an incomplete response is not stored).
 */
function cacheGet(rand) {
  let target = rand.weighted(CACHE_TARGETS);
  if (target === 'big') target = rand.pick(BIG);
  const [path, query] = target.split('?');
  const method = rand.chance(0.25) ? 'HEAD' : 'GET';
  const headers = [];
  const how = rand.weighted([
    [4, 'plain'], [2.5, 'encoding'], [1.5, 'range'], [1, 'etag'], [1, 'other etag'],
    [1, 'no-cache'], [0.7, 'max-age=0'], [0.7, 'pragma'], [1.5, 'only-if-cached'],
  ]);
  let ae;
  if (how === 'encoding' || (how === 'only-if-cached' && rand.chance(0.4))) {
    ae = rand.pick(CACHE_AE);
    headers.push(`Accept-Encoding: ${ae}`);
  }
  const vary = path === VARY.path;
  const variant = vary ? VARY.variant(ae) : null;
  const r = CACHED[path];
  const full = vary ? VARY[variant] : r.body;
  const etag = vary ? VARY.etags[variant] : r.etag;
  const cut = query === 'cut=1';
  const neverUsable = path === '/c/nostore' || path === '/c/reval' || cut;
  let statuses = [200];
  let body = full;
  let cuts = cut && method === 'GET';
  switch (how) {
    case 'range': {
      if (vary || cut) break;
      const a = rand.int(0, full.length - 1);
      const b = rand.int(a, Math.min(full.length - 1, a + rand.pick([10, 5000, 90000])));
      headers.push(`Range: bytes=${a}-${b}`);
      // RFC 9110 §14.2: a HEAD ignores Range.
      if (method === 'GET') {
        statuses = [206];
        body = full.subarray(a, b + 1);
      }
      break;
    }
    case 'etag':
      // RFC 9110 §13.1.2: weak comparison, so W/ matches too.
      headers.push(`If-None-Match: ${rand.chance(0.2) ? `W/${etag}` : etag}`);
      statuses = [304];
      cuts = false;
      break;
    case 'other etag':
      // Not a variant tag of the stack's ("s1-gzip"): those match their origin's tag by design (file-conditional.ts).
      headers.push(`If-None-Match: ${rand.pick(['"zz"', 'W/"zz"', '"s2", "q"'])}`);
      break;
    case 'no-cache':
    case 'max-age=0':
      headers.push(`Cache-Control: ${how}`);
      break;
    case 'pragma':
      headers.push('Pragma: no-cache');
      break;
    case 'only-if-cached':
      headers.push('Cache-Control: only-if-cached');
      statuses = neverUsable ? [504] : [200, 504];
      cuts = false;
      break;
  }
  let form = target;
  if (rand.chance(0.1)) form = `http://${HOST}${target}`;
  if (rand.chance(0.06)) headers.push('Connection: close');
  // The stack says Vary: Accept-Encoding on a text 200 it may compress; the origin says it for /c/vary.
  const varyOn = vary || r.type.startsWith('text/') ? 'accept-encoding' : undefined;
  const req = make(rand, { method, target: form, headers, expect: { statuses: cuts ? [502] : statuses, body, decode: ae !== undefined, cut: cuts, vary: varyOn } });
  if (cuts) req.label += ' (cut upstream)';
  return req;
}

const CACHE_WRITE_TARGETS = ['/c/small', '/c/big/1', VARY.path, '/c/reval', '/c/nostore', '/c/cut', '/c/cut?cut=1'];

/** PUT, POST or DELETE through the cache: forwarded (§4.4: it invalidates); PATCH is not enabled there. */
function cacheWrite(rand) {
  const method = rand.pick(['PUT', 'POST', 'DELETE', 'PATCH']);
  const target = rand.pick(CACHE_WRITE_TARGETS);
  const headers = [];
  const body = method === 'DELETE' && rand.chance(0.7) ? null : sizedBody(rand, [0, 5, 100, 3000]);
  if (body !== null && body.length > 0) maybeExpect(rand, headers, 0.2);
  if (method === 'PATCH') {
    const req = make(rand, { method, target, headers, body, expect: { statuses: [405] } });
    req.onHead = true;
    return req;
  }
  const chunked = body !== null && body.length > 0 && rand.chance(0.3);
  return make(rand, { method, target, headers, body, chunked, expect: { statuses: [200], contains: `${method} ${target} ${body?.length ?? 0}\n` } });
}

/**
 * §4.4 on one connection: a GET that stores a fresh response under a URI no
 * other request uses (its query), an unsafe request that invalidates it, and
 * a GET with `only-if-cached` that must find nothing (504). RFC 9112 §9.3.2:
 * the unsafe request is handled before the request after it.
 */
function invalidation(rand) {
  const target = `/c/small?inv=${rand.u32().toString(16)}`;
  const method = rand.pick(['PUT', 'POST', 'DELETE']);
  const body = method === 'DELETE' ? null : sizedBody(rand, [0, 5, 100]);
  return [
    make(rand, { method: 'GET', target, expect: { statuses: [200], body: CACHED['/c/small'].body } }),
    make(rand, { method, target, body, expect: { statuses: [200], contains: `${method} ${target} ${body?.length ?? 0}\n` } }),
    make(rand, { method: rand.chance(0.3) ? 'HEAD' : 'GET', target, headers: ['Cache-Control: only-if-cached'], expect: { statuses: [504] } }),
  ];
}

/** The 300 KiB `/api/` body (not cached): it crosses the client module's read buffers. */
function apiBig(rand) {
  const body = API_BIG.body;
  const method = rand.chance(0.2) ? 'HEAD' : 'GET';
  if (method === 'GET' && rand.chance(0.2)) {
    const a = rand.int(0, body.length - 1);
    const b = rand.int(a, body.length - 1);
    return make(rand, { method, target: API_BIG.target, headers: [`Range: bytes=${a}-${b}`], expect: { statuses: [206], body: body.subarray(a, b + 1) } });
  }
  return make(rand, { method, target: API_BIG.target, expect: { statuses: [200], body } });
}

const PLANS = [
  [10, (rand, files) => getFile(rand, files)],
  [4, getOther],
  [2, options],
  [5, putUpload],
  [2, deleteUpload],
  [2, postMultipart],
  [3, refusedWrite],
  [0.5, bigDeclared],
  [1, getWithBody],
  [7, cacheGet],
  [1.5, cacheWrite],
  [0.7, invalidation],
  [1.5, apiBig],
];

/**
 * A well-formed request, then perhaps a mutation of it; or a few requests
 * that belong together on one connection (an array, never mutated).
 */
export function genRequest(rand, files) {
  const req = rand.weighted(PLANS)(rand, files);
  if (Array.isArray(req)) return req;
  if (rand.chance(0.22)) mutate(rand, req);
  return req;
}

// --- malformed requests ---------------------------------------------------------

function replaceHead(req, text) {
  const head = Buffer.from(text, 'latin1');
  req.bytes = Buffer.concat([head, req.bytes.subarray(req.bodyStart)]);
  req.bodyStart = head.length;
}

function headText(req) {
  return req.bytes.toString('latin1', 0, req.bodyStart);
}

/** Adds a field line just before the end of the head. */
function addField(req, line) {
  const head = headText(req);
  replaceHead(req, head.slice(0, -2) + line + '\r\n\r\n');
}

const MUTATIONS = [
  ['byte flip', (rand, req) => {
    const b = Buffer.from(req.bytes);
    const at = rand.int(0, req.bodyStart - 1);
    b[at] ^= 1 << rand.int(0, 7);
    req.bytes = b;
  }],
  ['stray byte', (rand, req) => {
    const head = headText(req);
    const at = rand.int(0, head.length - 1);
    replaceHead(req, head.slice(0, at) + rand.pick(['\r', '\n', '\0', '\x7f', ' ', '\t', ':', '\xff']) + head.slice(at));
  }],
  ['duplicate Content-Length', (rand, req) => {
    const m = /content-length: (\d+)/i.exec(headText(req));
    const n = m ? Number(m[1]) : 0;
    addField(req, `Content-Length: ${rand.pick([n, n + 1, n === 0 ? 5 : n - 1])}`);
  }],
  ['Transfer-Encoding with Content-Length', (rand, req) => {
    addField(req, rand.chance(0.5) ? 'Transfer-Encoding: chunked' : `Content-Length: ${req.bytes.length - req.bodyStart}`);
    if (!/transfer-encoding/i.test(headText(req))) addField(req, 'Transfer-Encoding: chunked');
    if (!/content-length/i.test(headText(req))) addField(req, 'Content-Length: 3');
  }],
  ['bad chunk size', (rand, req) => {
    const size = rand.pick(['zz', '-1', '1x', 'fffffffffffffffff', ' 5', '5 ', '0x5', '', '5;' + 'e'.repeat(2000)]);
    const head = headText(req).replace(/content-length: \d+\r\n/i, '').replace(/transfer-encoding: chunked\r\n/i, '');
    replaceHead(req, head.slice(0, -2) + 'Transfer-Encoding: chunked\r\n\r\n');
    req.bytes = Buffer.concat([req.bytes.subarray(0, req.bodyStart), Buffer.from(`${size}\r\nhello\r\n0\r\n\r\n`, 'latin1')]);
  }],
  ['too many fields', (rand, req) => {
    const head = headText(req);
    let extra = '';
    for (let k = 0; k < 150; k++) extra += `X-F${k}: ${k}\r\n`;
    replaceHead(req, head.slice(0, -2) + extra + '\r\n');
  }],
  ['huge field', (rand, req) => addField(req, `X-Big: ${'b'.repeat(rand.pick([9000, 17000, 40000]))}`)],
  ['obs-fold', (rand, req) => addField(req, 'X-Folded: one\r\n two')],
  ['bare LF', (rand, req) => replaceHead(req, headText(req).replace(/\r\n/g, '\n'))],
  ['unknown method', (rand, req) => {
    const head = headText(req);
    replaceHead(req, rand.pick(['BREW', 'get', 'G\0T', 'GET\t', 'PRI', 'M-SEARCH']) + head.slice(head.indexOf(' ')));
  }],
  ['bad version', (rand, req) => replaceHead(req, headText(req).replace(/HTTP\/1\.[01]\r\n/, rand.pick(['HTTP/2.0\r\n', 'HTTP/1.2\r\n', 'HTTP/1\r\n', 'http/1.1\r\n', 'HTTP/1.1 \r\n', '\r\n'])))],
  ['no Host', (rand, req) => replaceHead(req, headText(req).replace(/Host: [^\r]*\r\n/, ''))],
  ['two Hosts', (rand, req) => addField(req, 'Host: other')],
  ['unknown transfer coding', (rand, req) => {
    const head = headText(req).replace(/content-length: \d+\r\n/i, '').replace(/transfer-encoding: chunked\r\n/i, '');
    replaceHead(req, head.slice(0, -2) + `Transfer-Encoding: ${rand.pick(['gzip', 'gzip, chunked', 'chunked, gzip', 'identity', 'chunked, chunked'])}\r\n\r\n`);
  }],
  ['space before colon', (rand, req) => replaceHead(req, headText(req).replace(/\r\nHost:/, '\r\nHost :'))],
  ['long target', (rand, req) => replaceHead(req, headText(req).replace(' /', ` /${'t'.repeat(9000)}`))],
  ['bad Content-Length', (rand, req) => {
    const head = headText(req).replace(/content-length: \d+\r\n/i, '');
    replaceHead(req, head.slice(0, -2) + `Content-Length: ${rand.pick(['+5', '5,5', '0x5', '-1', '', '99999999999999999999', '1 2'])}\r\n\r\n`);
  }],
  ['Expect unknown', (rand, req) => addField(req, `Expect: ${rand.pick(['200-ok', '100-continue, x', 'nothing'])}`)],
  ['body cut short', (rand, req) => {
    const bodyLength = req.bytes.length - req.bodyStart;
    if (bodyLength > 0) req.bytes = req.bytes.subarray(0, req.bodyStart + rand.int(0, bodyLength - 1));
    else addField(req, 'Content-Length: 10');
  }],
];

export function mutate(rand, req) {
  const [name, fn] = rand.pick(MUTATIONS);
  fn(rand, req);
  req.strict = false;
  req.expect = null;
  req.mutation = name;
  req.label += ` [${name}]`;
}

const JUNK = [
  '\r\n', '\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n', 'GET', ' / HTTP/1.1\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\0\0\0\0', 'GET / HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\n',
];

/** Bytes that are not a request: junk between requests, or the excess of an over-long body. */
export function genGarbage(rand) {
  const bytes = rand.chance(0.5) ? Buffer.from(rand.pick(JUNK), 'latin1') : rand.bytes(rand.int(1, 40));
  return {
    kind: 'garbage',
    label: `garbage (${bytes.length} B)`,
    method: '',
    bytes,
    bodyStart: bytes.length,
    strict: false,
    expect: null,
    head: false,
    continue: false,
    closes: false,
    onHead: false,
    mutation: 'garbage',
  };
}
