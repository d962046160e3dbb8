// One request per server before it is measured: a server that answers 404s or
// skips the gzip would otherwise look fast. Returns a list of problems (empty if fine).

import * as http from 'node:http';
import { gunzipSync } from 'node:zlib';

function get(port, path, headers, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** `expected`: the file's bytes; `gzip`: whether the response must be gzip-encoded. */
export async function verify({ port, path, headers = [], expected, gzip = false, timeoutMs = 10000 }) {
  const fields = Object.fromEntries(headers.map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]));
  let res;
  try {
    res = await get(port, path, fields, timeoutMs);
  } catch (err) {
    return [`GET ${path} failed: ${err.message}`];
  }
  const problems = [];
  if (res.status !== 200) problems.push(`GET ${path} answered ${res.status}, not 200`);
  const coding = res.headers['content-encoding'];
  let body = res.body;
  if (gzip) {
    if (coding !== 'gzip') {
      problems.push(`GET ${path} with Accept-Encoding: gzip is not gzip-encoded (Content-Encoding: ${coding ?? 'none'}, ${body.length} bytes)`);
    } else {
      try {
        body = gunzipSync(body);
      } catch (err) {
        problems.push(`GET ${path}: the gzip body does not decode: ${err.message}`);
        return problems;
      }
    }
  } else if (coding !== undefined && coding !== 'identity') {
    problems.push(`GET ${path} is encoded (${coding}) though the client did not ask`);
    return problems;
  }
  if (res.status === 200 && !body.equals(expected)) {
    problems.push(`GET ${path}: body of ${body.length} bytes differs from the file's ${expected.length}`);
  }
  return problems;
}

/**
 * For a caching proxy, after verify() made the first request: a second GET of
 * the same path must be answered from the cache (`Cache-Status` saying `hit`,
 * RFC 9211: streamstack's `streamstack; hit; ttl=N`, nginx's `nginx; HIT` from
 * the bench's config) with the same bytes. Returns a list of problems.
 */
export async function verifyHit({ port, path, expected, timeoutMs = 10000 }) {
  let res;
  try {
    res = await get(port, path, {}, timeoutMs);
  } catch (err) {
    return [`second GET ${path} failed: ${err.message}`];
  }
  const problems = [];
  const status = res.headers['cache-status'];
  if (status === undefined || !/(^|[;,\s])hit([;,\s]|$)/i.test(status)) {
    problems.push(`second GET ${path} was not a cache hit (Cache-Status: ${status ?? 'none'})`);
  }
  if (res.status !== 200 || !res.body.equals(expected)) {
    problems.push(`second GET ${path} answered ${res.status} with ${res.body.length} bytes, not the upstream's ${expected.length}`);
  }
  return problems;
}
