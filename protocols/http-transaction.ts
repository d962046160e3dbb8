// A transaction of the HTTP server module: one request and its reply on a
// connection (Squid's ClientSocketContext, libwww's HTNet of a server), with
// what the connection knows of its body on the wire. The connection
// (http-connection.ts) owns the state; this is its record.

import type { Readable } from 'node:stream';
import type { RequestHead } from './http-parser.js';
import type { Outgoing } from './http-response.js';
import type { Request, RequestWire } from '../src/request.js';
import type { Reply, ReplyHeaders } from '../src/reply.js';
import type { HttpError } from '../src/errors.js';
import { hasToken } from '../src/negotiate.js';

/** What a transaction asks of its connection: one object per connection, not closures per request. */
export interface TransactionOwner {
  openBody(tx: Transaction): Readable;
  interim(tx: Transaction, status: number, headers: ReplyHeaders): void;
  remoteAddress(): string;
}

export class Transaction implements Outgoing, RequestWire {
  readonly #owner: TransactionOwner;
  request: Request | null = null;
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
  /** The writer has reported its reply, written whole or cut short. */
  reported = false;
  /** A CONNECT or an Upgrade request: its reply may turn the connection into a tunnel. */
  readonly switching: boolean;
  /** Its reply does: decided when it is written. */
  tunnel = false;

  constructor(owner: TransactionOwner, head: RequestHead | null) {
    this.#owner = owner;
    this.head = head;
    this.bodyDone = head === null || head.bodyLength === 0;
    // RFC 9110 §7.8: Upgrade means something only when Connection names it.
    this.switching = head !== null && (head.method === 'CONNECT'
      || (head.versionMinor === 1 && head.headers.upgrade !== undefined && hasToken(head.headers.connection, 'upgrade')));
  }

  openBody(): Readable {
    return this.#owner.openBody(this);
  }

  interim(status: number, headers: ReplyHeaders): void {
    this.#owner.interim(this, status, headers);
  }

  remoteAddress(): string {
    return this.#owner.remoteAddress();
  }

  get versionMinor(): number {
    return this.head?.versionMinor ?? 1;
  }

  get keepAlive10(): boolean {
    return this.head?.versionMinor === 0;
  }
}
