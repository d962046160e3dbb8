// The fields a proxy changes on the way through (RFC 9110 §7.6), for the
// HTTP client module: the request head sent upstream, and the reply built
// from the upstream's response head. Both directions drop the hop-by-hop
// fields and every field the Connection field names, and add `Via`. Going
// up, the client's address is told in X-Forwarded-For/-Proto/-Host and
// Forwarded (RFC 7239), keeping what came in only from a trusted proxy.
// Coming back, the response becomes a Reply: canonical field names, a
// Format from Content-Type and Content-Encoding (so the converter stack
// treats it as it treats a file), a length; framing fields are the writer's.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { ResponseHead } from './http-parser.js';
import type { Request } from '../src/request.js';
import type { Reply, ReplyHeaders } from '../src/reply.js';
import type { RuleSet } from '../src/rules/index.js';
import { makeFormat, parseMediaType, type Format } from '../src/format.js';
import { lastValue } from '../src/last-value.js';

/** The name this proxy gives itself in Via (RFC 9110 §7.6.3). */
export const VIA_NAME = 'streamstack';

/** RFC 9110 §7.6.1, with the non-standard Keep-Alive and Proxy-Connection. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'trailer',
]);

/** Request fields the head writer sets itself. */
const REQUEST_OWN = new Set(['host', 'content-length', 'expect', 'via', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

/** Response fields the server's writer sets itself (framing, Date, Server) or that become the Format. */
const RESPONSE_OWN = new Set(['content-length', 'date', 'server', 'via']);

/** The lower-case field names a Connection field lists. The last list is kept: a peer says the same each time. */
const optionsOf = lastValue((value: string): ReadonlySet<string> => {
  const names = new Set<string>();
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return names;
});

/** The lower-case field names a Connection field lists, or null. */
function connectionOptions(value: string | undefined): ReadonlySet<string> | null {
  return value === undefined ? null : optionsOf(value);
}

function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

const trusted = new WeakMap<RuleSet, BlockList | null>();

/** The peers a TrustProxy names, as a BlockList built once per rule set. */
function trustList(rules: RuleSet | null): BlockList | null {
  if (rules === null) return null;
  let list = trusted.get(rules);
  if (list === undefined) {
    const entries = rules.settings.trustProxy ?? [];
    list = entries.length === 0 ? null : new BlockList();
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (slash === -1) list!.addAddress(address, family);
      else list!.addSubnet(address, Number(entry.slice(slash + 1)), family);
    }
    trusted.set(rules, list);
  }
  return list;
}

/** The peer's address, an IPv4-mapped IPv6 address as IPv4. */
export function peerAddress(request: Request): string {
  const a = request.remoteAddress;
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

export function isTrusted(rules: RuleSet | null, peer: string): boolean {
  const list = trustList(rules);
  if (list === null || peer === '') return false;
  return list.check(peer, isIPv6(peer) ? 'ipv6' : 'ipv4');
}

/** A Forwarded parameter value: a token, or a quoted-string (RFC 7239 §4, RFC 9110 §5.6.4). The last one is kept: requests repeat their Host. */
const forwardedValue = lastValue((value: string): string =>
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`);

export interface Upstream {
  /** `host[:port]` as the upstream's own Host would be. */
  readonly authority: string;
  /** Origin-form: path and query. */
  readonly target: string;
}

/**
 * The request head sent upstream: request line, the client's end-to-end
 * fields in their order, then Host, Via, the forwarding fields and framing.
 * `chunked` when the body's length is unknown. `expectContinue`: the body
 * waits for the upstream's 100 Continue.
 */
export function requestHead(request: Request, upstream: Upstream, bodyFraming: 'none' | 'length' | 'chunked', upgrade = false, expectContinue = false): string {
  const h = request.headers;
  const options = connectionOptions(h.connection);
  const raw = request.rawHeaders;
  let out = `${request.method} ${upstream.target} HTTP/1.1\r\n`;
  const rules = request.rules;
  // RFC 9112 §3.3: the effective request URI's authority is an absolute-form target's, not Host's.
  const clientHost = request.authority;
  const host = rules?.settings.proxyHost === 'upstream' || clientHost === null ? upstream.authority : clientHost;
  out += `Host: ${host}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = lower(raw[i]!);
    if (HOP_BY_HOP.has(name) || REQUEST_OWN.has(name) || (options !== null && options.has(name))) continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  const via = `1.${request.versionMinor} ${VIA_NAME}`;
  out += `Via: ${h.via === undefined ? via : `${h.via}, ${via}`}\r\n`;
  // RFC 9110 §7.8: the only hop-by-hop fields passed on, and only to ask for a switch.
  if (upgrade) out += `Connection: upgrade\r\nUpgrade: ${h.upgrade}\r\n`;

  const peer = peerAddress(request);
  const keep = isTrusted(rules, peer);
  const proto = request.secure ? 'https' : 'http';
  const xff = keep && h['x-forwarded-for'] !== undefined ? `${h['x-forwarded-for']}, ${peer}` : peer;
  if (xff !== '') out += `X-Forwarded-For: ${xff}\r\n`;
  out += `X-Forwarded-Proto: ${keep && h['x-forwarded-proto'] !== undefined ? h['x-forwarded-proto'] : proto}\r\n`;
  const xfh = keep && h['x-forwarded-host'] !== undefined ? h['x-forwarded-host'] : clientHost ?? undefined;
  if (xfh !== undefined) out += `X-Forwarded-Host: ${xfh}\r\n`;
  // RFC 7239 §6: an IPv6 node is bracketed and quoted; an unknown one is "unknown".
  // A peer address is IPv4 or IPv6 (Node's own), so a colon says which.
  const node = peer === '' ? 'unknown' : peer.includes(':') ? `"[${peer}]"` : peer;
  let element = `for=${node}`;
  if (clientHost !== null) element += `;host=${forwardedValue(clientHost)}`;
  element += `;proto=${proto}`;
  out += `Forwarded: ${keep && h.forwarded !== undefined ? `${h.forwarded}, ${element}` : element}\r\n`;

  // RFC 9110 §10.1.1: a proxy forwards the expectation with the request head.
  if (expectContinue) out += 'Expect: 100-continue\r\n';
  if (bodyFraming === 'length') out += `Content-Length: ${request.bodyLength}\r\n`;
  else if (bodyFraming === 'chunked') out += 'Transfer-Encoding: chunked\r\n';
  else if (h['content-length'] !== undefined) out += 'Content-Length: 0\r\n';
  return out + '\r\n';
}

/** Names whose canonical spelling is not one capital per word. */
const SPECIAL_NAMES: Readonly<Record<string, string>> = {
  etag: 'ETag', 'www-authenticate': 'WWW-Authenticate', 'content-md5': 'Content-MD5', te: 'TE', dnt: 'DNT',
  'x-xss-protection': 'X-XSS-Protection', 'x-ua-compatible': 'X-UA-Compatible', 'content-dpr': 'Content-DPR',
  sourcemap: 'SourceMap', 'nel': 'NEL',
};
const canonicalNames = new Map<string, string>();

/** `content-type` → `Content-Type`: replies keep canonical names (src/reply.ts). */
export function canonicalName(name: string): string {
  let out = canonicalNames.get(name);
  if (out !== undefined) return out;
  out = SPECIAL_NAMES[name] ?? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
  if (canonicalNames.size < 1000) canonicalNames.set(name, out);
  return out;
}

/** The content codings of a Content-Encoding value, first applied first; identity is none. */
function codingsOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const coding = part.trim().toLowerCase();
    if (coding !== '' && coding !== 'identity') out.push(coding);
  }
  return out;
}

/**
 * Adds a completed response's trailer fields (name, value… as parsed) to
 * `into`, under canonical names; hop-by-hop names are dropped here, the
 * writer drops what a trailer may never carry (RFC 9110 §6.5.1).
 */
export function addTrailers(raw: readonly string[], into: ReplyHeaders): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = lower(raw[i]!);
    if (HOP_BY_HOP.has(name)) continue;
    const key = canonicalName(name);
    const value = raw[i + 1]!;
    const prev = into[key];
    if (prev === undefined) into[key] = value;
    else if (typeof prev === 'string') into[key] = [prev, value];
    else prev.push(value);
  }
}

/**
 * The Format of a Content-Type and, after a newline, a Content-Encoding, or
 * null without a valid type. The last one is kept, frozen (Formats are never
 * changed, only replaced): an upstream sends the same type again and again.
 */
const formatOfFields = lastValue((fields: string): Format | null => {
  const nl = fields.indexOf('\n');
  const parsed = parseMediaType(nl === -1 ? fields : fields.slice(0, nl));
  if (parsed === null) return null;
  const codings = nl === -1 ? [] : codingsOf(fields.slice(nl + 1));
  return Object.freeze(makeFormat(parsed.type, Object.freeze({ ...parsed.params }), Object.freeze(codings)));
});

/** The Format of a Content-Type and Content-Encoding (formatOfFields); the usual response has no encoding, and costs no concatenation. */
function formatOf(contentType: string | undefined, contentEncoding: string | undefined): Format | null {
  if (contentType === undefined) return null;
  return formatOfFields(contentEncoding === undefined ? contentType : `${contentType}\n${contentEncoding}`);
}

/**
 * The reply for an upstream response head. `body` is the stream of its
 * content, or null when it has none. The length of a response to HEAD is
 * the one its Content-Length announces, so the client sees it too.
 */
export function replyHead(head: ResponseHead, method: string, body: Reply['body']): Reply {
  const h = head.headers;
  const options = connectionOptions(h.connection);
  const format = formatOf(h['content-type'], h['content-encoding']);
  const headers: ReplyHeaders = {};
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = lower(raw[i]!);
    if (HOP_BY_HOP.has(name) || RESPONSE_OWN.has(name) || (options !== null && options.has(name))) continue;
    // With a Format, the writer derives Content-Type and Content-Encoding from it.
    if (format !== null && (name === 'content-type' || name === 'content-encoding')) continue;
    const key = canonicalName(name);
    const value = raw[i + 1]!;
    const prev = headers[key];
    if (prev === undefined) headers[key] = value;
    else if (typeof prev === 'string') headers[key] = [prev, value];
    else prev.push(value);
  }
  const via = `1.${head.versionMinor} ${VIA_NAME}`;
  headers.Via = h.via === undefined ? via : `${h.via}, ${via}`;
  let length = -1;
  if (head.bodyLength > 0) length = head.bodyLength;
  else if (head.bodyLength === 0 && body === null) {
    const cl = h['content-length'];
    if (method === 'HEAD' ? cl !== undefined && /^[0-9]{1,15}$/.test(cl.trim()) : head.status !== 204 && head.status !== 304) {
      length = method === 'HEAD' ? Number(cl!.trim()) : 0;
    }
  }
  return { status: head.status, headers, format, length, body };
}
