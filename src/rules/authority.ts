// The authority templates of `Tunnel` and `Forward` (a CONNECT's host:port, a
// forward-proxied request's host[:port]). A template is matched against the
// authority as `host:port`: the host lower-cased, an IPv6 host in brackets,
// the port always written out. A template written without a port means the
// default one (443 for Tunnel, 80 for Forward), unless it ends with a `*`,
// which spans the port too (`Forward *` is any host, any port). A `*` makes it
// guarded: it never reaches a loopback, link-local or private address
// (protocols/http-client-guard.ts); such destinations must be named literally.

import { isIP } from 'node:net';
import { Template } from './template.js';
import type { AuthorityRule } from './types.js';
import { Expected, quote } from './values.js';

/** `host:port` of an authority as a request names it, or null when it is not one. */
export function normalAuthority(authority: string, defaultPort: number): string | null {
  let host: string;
  let port: string;
  const a = authority.toLowerCase();
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close === -1) return null;
    host = a.slice(1, close);
    if (isIP(host) !== 6) return null;
    const rest = a.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    port = rest.slice(1);
    host = `[${host}]`;
  } else {
    const colon = a.lastIndexOf(':');
    host = colon === -1 ? a : a.slice(0, colon);
    port = colon === -1 ? '' : a.slice(colon + 1);
    if (!/^[a-z0-9._~!$&'()*+,;=%-]+$/.test(host)) return null;
  }
  if (port === '') port = String(defaultPort);
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) === 0 || Number(port) > 65535) return null;
  return `${host}:${Number(port)}`;
}

/** A Tunnel or Forward template as written (lexed pieces), or what was expected. */
export function compileAuthority(parts: readonly string[], pattern: string, defaultPort: number): AuthorityRule | Expected {
  const text = parts.join('*');
  const bad = () => new Expected(`expected HOST:PORT, where * matches any part (like *.example.org:443), got ${quote(pattern)}`);
  if (text === '' || /[\s/?#@]/.test(text)) return bad();
  const lowered = parts.map((p) => p.toLowerCase());
  const last = lowered[lowered.length - 1]!;
  // A port is written when the text after the last ']' has a ':'; a trailing `*` spans the port too.
  const tail = text.slice(text.lastIndexOf(']') + 1);
  if (!tail.includes(':') && last !== '') lowered[lowered.length - 1] = `${last}:${defaultPort}`;
  if (parts.length === 1 && normalAuthority(text, defaultPort) === null) return bad();
  return { template: new Template(lowered, pattern), guarded: parts.length > 1 };
}

/** The first rule whose template matches the normal authority. */
export function authorityRuleFor(rules: readonly AuthorityRule[], authority: string): AuthorityRule | undefined {
  for (const r of rules) if (r.template.match(authority) !== null) return r;
  return undefined;
}
