// The HTTP/1.1 server protocol module (libwww's HTTPServer, the Mini
// Server's listener): accepts connections, holds their set, and stops them
// gracefully. What a connection does is in http-connection.ts (reading, the
// FIFO, timeouts) and http-response.ts (the reply writer); the head
// serializer is http-writer.ts and the parser http-parser.ts.
//
// TLS is a property of the connection: with `tls` options the listener is a
// tls.Server and each Connection gets the decrypted TLSSocket, which reads,
// writes and half-closes as a net.Socket does. ALPN offers http/1.1 only. A
// failed handshake is the client's problem: counted (`tlsErrors`), never
// logged; a handshake not done within HeaderTimeout is dropped.
//
// The exception boundary: a throw in any I/O callback of a connection ends
// that connection only. It is logged once with its stack and counted here
// (`boundary.caught`), and the test suite asserts that it catches nothing:
// it is a net, not a fix.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { DEFAULT_LIMITS } from './http-parser.js';
import type { ParserLimits } from './http-parser.js';
import { Connection } from './http-connection.js';
import type { ConnectionStats } from './http-connection.js';
import type { Request } from '../src/request.js';
import type { Reply } from '../src/reply.js';

export type { ConnectionStats } from './http-connection.js';

export interface WireOptions extends ParserLimits {
  /** Requests parsed ahead of the one being answered. */
  maxPipeline: number;
  /** Default request body cap; the handler may lower or raise it per request. */
  maxBodySize: number;
  /** An unread body up to this size is read and dropped to keep the connection. */
  maxDiscard: number;
  /** From the first byte of a head to its end (slowloris); 0 is none. */
  headerTimeout: number;
  /** Idle between requests; 0 is none. */
  keepAliveTimeout: number;
  /** Idle while a body is being read; 0 is none. */
  bodyTimeout: number;
  /** No progress writing to a client that stopped reading; 0 is none. */
  writeTimeout: number;
  /** After our FIN, how long the client's is awaited while what it sends is dropped. */
  lingerTimeout: number;
  /** The Server field. */
  serverName: string;
}

export const DEFAULT_WIRE: Readonly<WireOptions> = Object.freeze({
  ...DEFAULT_LIMITS,
  maxPipeline: 16,
  maxBodySize: 10 * 1024 * 1024,
  maxDiscard: 64 * 1024,
  headerTimeout: 20_000,
  keepAliveTimeout: 75_000,
  bodyTimeout: 30_000,
  writeTimeout: 30_000,
  lingerTimeout: 5_000,
  serverName: 'streamstack',
});

/** How long a stop waits for what is in flight (GraceTimeout). */
export const DEFAULT_GRACE = 10_000;

/** A reply now (a memory-cache hit), or a promise of one. */
export type Handler = (request: Request) => Promise<Reply> | Reply;

/** Observers for the log and for tests. */
export interface WireEvents {
  /**
   * A reply written whole, with its body bytes sent; `request` is null for
   * the answer to a head that could not be parsed, and then `peer` is the
   * client's address.
   */
  onReply?(request: Request | null, reply: Reply, bytes: number, peer?: string): void;
  /**
   * A request whose reply was cut short: the client went away, or the body
   * failed after the head (the connection closed, so the body does not look
   * complete). `bytes` is the body bytes the kernel took; a request the
   * connection closed under before its head was sent comes with a 499
   * (WWW_ERR_REQ_ABORTED) and 0.
   */
  onCut?(request: Request | null, reply: Reply, bytes: number): void;
  onError?(error: unknown): void;
  /** A throw caught by the exception boundary (default: logged to stderr with its stack). */
  onCaught?(error: unknown): void;
}

/** What the exception boundaries of every server in this process have caught. */
export const boundary = { caught: 0 };

export class HttpServer {
  readonly handler: Handler;
  readonly events: WireEvents;
  /**
   * How the wire's own error replies to parsed requests are presented (the
   * server's error pages); null: as they are, plain text.
   */
  present: ((reply: Reply, request: Request) => Reply) | null = null;
  readonly options: WireOptions;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  /** TLS: sockets accepted whose handshake is not done yet (closed at once by a stop). */
  readonly #handshaking = new Set<net.Socket>();
  /** Sockets handed over to tunnels: no longer HTTP, still to be closed on a stop. */
  readonly #tunnels = new Set<net.Socket>();
  #closing = false;
  /** Throws this server's connections' boundaries caught. */
  caughtCount = 0;
  /** TLS handshakes that failed, or did not finish in time. */
  tlsErrors = 0;
  #context: tls.SecureContext | null = null;

  /** With `secure` (a certificate and its key), every connection is TLS. */
  constructor(handler: Handler, options: Partial<WireOptions> = {}, events: WireEvents = {}, secure?: tls.SecureContextOptions) {
    this.handler = handler;
    this.events = events;
    this.options = { ...DEFAULT_WIRE, ...options };
    if (secure !== undefined) this.#context = tls.createSecureContext(secure);
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.#closing) return void socket.destroy();
      if (this.#context === null) this.#connections.add(new Connection(socket, this, this.options));
      else this.#handshake(socket, this.#context);
    });
  }

  /** TLS: the TLSSocket wraps the accepted one; the Connection gets it once the handshake is done. */
  #handshake(raw: net.Socket, context: tls.SecureContext): void {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
    this.#handshaking.add(socket);
    // The handshake is the first thing a client sends: HeaderTimeout bounds it, as it bounds a head.
    const timeout = this.options.headerTimeout;
    const timer = timeout > 0 ? setTimeout(() => socket.destroy(), timeout) : null;
    timer?.unref();
    // A failed handshake (not TLS, no shared cipher, a bad certificate at the client) is counted, not logged.
    const failed = () => socket.destroy();
    socket.on('error', failed);
    socket.once('close', () => {
      if (timer !== null) clearTimeout(timer);
      if (this.#handshaking.delete(socket)) this.tlsErrors++;
    });
    socket.once('secure', () => {
      if (timer !== null) clearTimeout(timer);
      this.#handshaking.delete(socket);
      socket.off('error', failed);
      if (this.#closing) return void socket.destroy();
      this.#connections.add(new Connection(socket, this, this.options));
    });
  }

  /** TLS: the certificate and key for new connections (a renewal); throws when they cannot be used. */
  setSecureContext(secure: tls.SecureContextOptions): void {
    if (this.#context === null) throw new Error('not a TLS server');
    this.#context = tls.createSecureContext(secure);
  }

  /** Every connection is TLS. */
  get secure(): boolean {
    return this.#context !== null;
  }

  get connections(): number {
    return this.#connections.size;
  }

  stats(): ConnectionStats[] {
    return [...this.#connections].map((c) => c.stats());
  }

  /** The broken invariants of every connection (see Connection.check). */
  check(): string[] {
    return [...this.#connections].flatMap((c) => c.check());
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
  }

  /** A connection became a tunnel: its socket is kept only to be closed when the server stops. */
  tunnelled(socket: net.Socket): void {
    if (socket.destroyed) return;
    this.#tunnels.add(socket);
    socket.once('close', () => this.#tunnels.delete(socket));
  }

  /** A connection's boundary caught `err`: counted and logged once; the connection is already ending. */
  caught(err: unknown): void {
    this.caughtCount++;
    boundary.caught++;
    try {
      if (this.events.onCaught !== undefined) this.events.onCaught(err);
      else console.error(`streamstack: a connection ended on an internal error: ${(err as Error)?.stack ?? String(err)}`);
    } catch {
      // The log must not fail the boundary.
    }
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  /** The server is stopping: no connection is accepted, and requests that arrive are answered 503. */
  get stopping(): boolean {
    return this.#closing;
  }

  /**
   * Stops accepting; idle connections close at once, busy ones finish what
   * they have queued (a request that arrives meanwhile is answered 503 and
   * closes its connection); past `graceMs` (0: no limit) every connection
   * and tunnel left is closed.
   */
  close(graceMs = DEFAULT_GRACE): Promise<void> {
    this.#closing = true;
    // Resolves once every socket is gone: connections finishing their queue, tunnels ending.
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of this.#connections) c.shutdown();
    // A handshake in progress has no request yet: nothing to finish.
    for (const s of this.#handshaking) s.destroy();
    this.#handshaking.clear();
    if (graceMs <= 0) return closed;
    const timer = setTimeout(() => {
      for (const c of this.#connections) c.destroy();
      for (const t of this.#tunnels) t.destroy();
    }, graceMs);
    timer.unref();
    return closed.finally(() => clearTimeout(timer));
  }
}
