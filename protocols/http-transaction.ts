// A transaction of the HTTP server module: one request and its reply on a
// connection (Squid's ClientSocketContext, libwww's HTNet of a server), with
// what the connection knows of its body on the wire. The connection
// (http-connection.ts) owns the state; this is its record.

import type { Readable } from 'node:stream';
import type { RequestHead } from './http-parser.js';
import type { Outgoing } from './http-response.js';
import type { Request } from '../src/request.js';
import type { Reply } from '../src/reply.js';
import type { HttpError } from '../src/errors.js';
import { hasToken } from '../src/negotiate.js';

export class Transaction implements Outgoing {
  readonly request: Request | null;
  readonly head: RequestHead | null;
  reply: Reply | null = null;
  /** Body bytes received so far. */
  received = 0;
  /** The parser reached the end of this message (or it has none). */
  bodyDone: boolean;
  /** The stream its consumer reads, once opened and until given up. */
  body: Readable | null = null;
  /** The consumer wants more bytes. */
  wanted = false;
  /** The rest of the body is read and dropped. */
  discarding = false;
  /** Why the body can never complete (FIN, timeout, framing, size). */
  failed: HttpError | null = null;
  continuePending = false;
  continueSent = false;
  close = false;
  /** A CONNECT or an Upgrade request: its reply may turn the connection into a tunnel. */
  readonly switching: boolean;
  /** Its reply does: decided when it is written. */
  tunnel = false;

  constructor(request: Request | null, head: RequestHead | null) {
    this.request = request;
    this.head = head;
    this.bodyDone = head === null || head.bodyLength === 0;
    // RFC 9110 §7.8: Upgrade means something only when Connection names it.
    this.switching = head !== null && (head.method === 'CONNECT'
      || (head.versionMinor === 1 && head.headers.upgrade !== undefined && hasToken(head.headers.connection, 'upgrade')));
  }

  get versionMinor(): number {
    return this.head?.versionMinor ?? 1;
  }

  get keepAlive10(): boolean {
    return this.head?.versionMinor === 0;
  }
}
