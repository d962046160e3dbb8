// TLS for wire tests: certificates made when the tests run (selfsigned), and
// a client that speaks raw HTTP bytes over tls.connect, as exchange() does
// over net.connect.

import * as tls from 'node:tls';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate } from 'selfsigned';
import { exchangeOver } from './wire.js';
import type { Exchange, ExchangeOptions } from './wire.js';

export interface Pair {
  cert: string;
  key: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, with its key (EC, fast to make). */
export async function makePair(): Promise<Pair> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Writes a pair to a fresh directory as cert.pem and key.pem. */
export function writePair(pair: Pair, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-tls-'))): { dir: string; cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  fs.writeFileSync(cert, pair.cert);
  fs.writeFileSync(key, pair.key);
  return { dir, cert, key };
}

export interface TlsExchange extends Exchange {
  /** The protocol ALPN chose. */
  alpn: string | false | null;
  /** The server certificate's SHA-256 fingerprint. */
  fingerprint: string;
}

/**
 * exchange() over TLS: `ca` is trusted (the pair's certificate) and the name
 * checked is 127.0.0.1; with `ca` null any certificate is taken.
 */
export async function tlsExchange(port: number, ca: string | null, data: string | Buffer | (string | Buffer)[], options: ExchangeOptions = {}): Promise<TlsExchange> {
  const trust = ca === null ? { rejectUnauthorized: false } : { ca };
  const socket = tls.connect({ port, host: '127.0.0.1', ...trust, ALPNProtocols: ['http/1.1'], allowHalfOpen: true });
  let fingerprint = '';
  socket.once('secureConnect', () => (fingerprint = socket.getPeerCertificate().fingerprint256));
  const r = await exchangeOver(socket, 'secureConnect', data, options, true);
  return { ...r, alpn: socket.alpnProtocol ?? null, fingerprint };
}
