// TLS for the Mini Server: the certificate and key files, each checked on
// its own so that an error names its file (at start, and on SIGHUP for a
// renewal); a self-signed pair for local development (the selfsigned
// package); and the handler of the plain port that sends clients to https
// (RedirectHTTP).

import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { Request } from './request.js';
import type { Reply } from './reply.js';
import { textReply } from './reply.js';

/** A certificate or key file that cannot be used; the message names the file. */
export class TlsFileError extends Error {}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** The PEM certificate chain and key of `files`, checked to be usable and to belong together. */
export function readTlsFiles(files: TlsFiles): { cert: string; key: string } {
  const cert = readPem(files.cert, 'certificate');
  const key = readPem(files.key, 'key');
  check(() => tls.createSecureContext({ cert }), `the TLS certificate ${files.cert} cannot be used`);
  check(() => tls.createSecureContext({ key }), `the TLS key ${files.key} cannot be used`);
  check(() => tls.createSecureContext({ cert, key }), `the TLS key ${files.key} does not match the certificate ${files.cert}`);
  return { cert, key };
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code ?? e.message;
    throw new TlsFileError(`cannot read the TLS ${what} ${file}: ${why}`);
  }
}

function check(make: () => unknown, message: string): void {
  try {
    make();
  } catch (err) {
    // OpenSSL's reason, without its error-stack prefix ("error:0A0000..:SSL routines::").
    const reason = String((err as Error).message).replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '');
    throw new TlsFileError(`${message} (${reason})`);
  }
}

/**
 * A certificate for localhost and 127.0.0.1 (and ::1), valid for 30 days,
 * made in memory at each start: for local development only, since no browser
 * trusts it.
 */
export async function selfSigned(): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  // Loaded only here: a certificate library has no place in a server that does not make one.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 30 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * RedirectHTTP: every request on the plain port gets a 308 to the same path
 * and query on https, at the host the client named (Host, or an absolute
 * target's authority), else `fallbackHost`, and the TLS port.
 */
export function redirectToHttps(httpsPort: number, fallbackHost: string): (request: Request) => Reply {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return (request) => {
    const host = hostOf(request.method === 'CONNECT' ? null : request.authority) ?? fallbackHost;
    const path = request.path.charCodeAt(0) === 0x2f ? request.path + request.query : '/';
    const location = `https://${host}${port}${path}`;
    return textReply(308, `Moved to ${location}`, { Location: location });
  };
}

/** The host of an authority, without its port; an IPv6 literal keeps its brackets. */
function hostOf(authority: string | null): string | null {
  if (authority === null || authority === '') return null;
  if (authority[0] === '[') {
    const end = authority.indexOf(']');
    return end === -1 ? null : authority.slice(0, end + 1);
  }
  const colon = authority.indexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}
