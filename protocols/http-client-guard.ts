// The address guard of the HTTP client module: a `Tunnel` or `Forward`
// template with a `*` lets the client choose the destination, so it must
// never reach this machine or the private network behind it (SSRF). The
// address is checked after DNS resolution, in the lookup that net.connect
// itself uses: every address a name resolves to is checked, and the socket
// connects only to the addresses checked, so a name cannot be rebound
// between the check and the connect. A literal IP is checked as it is.

import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { HttpError } from '../src/errors.js';

/** What a name resolves to: every address (the injected resolver of the tests, or DNS). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const dnsResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fe80::', 10], ['fc00::', 7]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

/**
 * Loopback, link-local, private (RFC 1918, RFC 4193), carrier-grade NAT and
 * unspecified addresses, IPv4-mapped (::ffff:10.0.0.1) and IPv4-compatible
 * forms included. Anything that is not an IP address is refused too.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const embedded = embeddedIPv4(address);
  if (embedded !== null) return PRIVATE.check(embedded, 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

/**
 * The IPv4 address an IPv6 address carries: ::ffff:a.b.c.d (mapped),
 * ::a.b.c.d (compatible) or 64:ff9b::a.b.c.d (NAT64), in either notation.
 */
function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (g === null) return null;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const mapped = zeroTo(5) && g[5] === 0xffff;
  const compatible = zeroTo(6) && (g[6] !== 0 || g[7]! > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !compatible && !nat64) return null;
  return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
}

/** The eight 16-bit groups of an IPv6 address (already checked by isIP). */
function ipv6Groups(address: string): number[] | null {
  let a = address.toLowerCase();
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (dotted !== null) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number) as [number, number, number, number];
    a = a.slice(0, dotted.index) + ((b0 << 8) | b1).toString(16) + ':' + ((b2 << 8) | b3).toString(16);
  }
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail].map((h) => parseInt(h, 16));
  return groups.length === 8 && groups.every((x) => x >= 0 && x <= 0xffff) ? groups : null;
}

export function refused(host: string, address: string): HttpError {
  return new HttpError('WWW_ERR_PROXY_ADDRESS', host === address ? address : `${host} is ${address}`);
}

/**
 * A lookup for net.connect that resolves with `resolve`, then fails with
 * WWW_ERR_PROXY_ADDRESS when any address is private, before any connect.
 */
export function guardedLookup(resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) {
          const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          return callback(err, '', 0);
        }
        const bad = wanted.find((a) => isPrivateAddress(a.address));
        if (bad !== undefined) return callback(refused(hostname, bad.address) as unknown as NodeJS.ErrnoException, '', 0);
        if ((options as { all?: boolean }).all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
