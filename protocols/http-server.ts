// The HTTP/1.1 server protocol module: the connection manager of Squid's
// "new server side" design (libwww's HTTPServer stream). It owns the socket,
// the read buffer, the parser and a FIFO of transactions. Pipelined requests
// are parsed ahead up to a bound, but only the head of the queue writes, so
// replies leave in request order. While a request has a body the connection
// is in body-reader mode: buffered bytes are body, never the next request,
// and they stay unread until the request is accepted (`request.body()`).
//
// Connection states: OPEN → CLOSING (no new requests) → CLOSED (socket gone,
// every queued transaction aborted) → DEAD (every handler has returned).

import * as net from 'node:net';
import { Readable } from 'node:stream';
import { RequestParser, DEFAULT_LIMITS } from './http-parser.js';
import type { ParserHandler, ParserLimits, RequestHead } from './http-parser.js';
import { SMALL_BODY, hasNoContent, headWithBody, serializeHead } from './http-writer.js';
import { Wait, WaitTimer } from './http-timer.js';
import { Request } from '../src/request.js';
import type { Reply } from '../src/reply.js';
import { errorReply, isDirectBody } from '../src/reply.js';
import type { DirectBody } from '../src/reply.js';
import { HttpError } from '../src/errors.js';
import { toHttpError } from '../src/net.js';

export interface WireOptions extends ParserLimits {
  /** Requests parsed ahead of the one being answered. */
  maxPipeline: number;
  /** Default request body cap; the handler may lower or raise it per request. */
  maxBodySize: number;
  /** An unread body up to this size is read and dropped to keep the connection. */
  maxDiscard: number;
  /** From the first byte of a head to its end (slowloris). */
  headerTimeout: number;
  /** Idle between requests. */
  keepAliveTimeout: number;
  /** Idle while a body is being read. */
  bodyTimeout: number;
  /** No progress writing to a client that stopped reading. */
  writeTimeout: number;
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
  serverName: 'streamstack',
});

/** A reply now (a memory-cache hit), or a promise of one. */
export type Handler = (request: Request) => Promise<Reply> | Reply;

/** Observers for the log and for tests. */
export interface WireEvents {
  onReply?(request: Request | null, reply: Reply, bytes: number): void;
  onError?(error: unknown): void;
}

export interface ConnectionStats {
  state: 'open' | 'closing' | 'closed' | 'dead';
  /** Transactions parsed and not yet answered. */
  queued: number;
  /** Bytes read from the socket and not yet parsed. */
  pendingBytes: number;
  /** Bytes written to the socket and not yet flushed to the kernel. */
  writableLength: number;
}

const enum ConnState {
  Open,
  Closing,
  Closed,
  Dead,
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

class Transaction {
  readonly request: Request | null;
  readonly head: RequestHead | null;
  reply: Reply | null = null;
  /** Body bytes received so far. */
  received = 0;
  /** The parser reached the end of this message. */
  bodyDone: boolean;
  body: Readable | null = null;
  /** The body consumer wants more bytes. */
  bodyWanted = false;
  discarding = false;
  continuePending = false;
  close = false;

  constructor(request: Request | null, head: RequestHead | null) {
    this.request = request;
    this.head = head;
    this.bodyDone = head === null || head.bodyLength === 0;
  }
}

export class Connection implements ParserHandler {
  readonly #socket: net.Socket;
  readonly #server: HttpServer;
  readonly #options: WireOptions;
  readonly #parser: RequestParser;
  readonly #queue: Transaction[] = [];
  #state = ConnState.Open;
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  /** The transaction whose body is on the wire. */
  #reading: Transaction | null = null;
  /** A stream body being written. */
  #streaming: Readable | null = null;
  #handlers = 0;
  readonly #timer: WaitTimer;
  #ended = false;
  #flushScheduled = false;
  /** Our FIN is queued: ending twice only makes an error object. */
  #endSent = false;
  #pumping = false;
  /** The stream being written writes itself (#writeDirect). */
  #direct = false;
  #pumpAgain = false;
  /** Transactions parsed in this pass, to be handed to the handler after it. */
  #parsed: Transaction[] = [];

  constructor(socket: net.Socket, server: HttpServer, options: WireOptions) {
    this.#socket = socket;
    this.#server = server;
    this.#options = options;
    this.#parser = new RequestParser(this, options);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {});
    socket.on('drain', () => this.#onDrain());
    this.#timer = new WaitTimer(() => this.#period(), (kind) => this.#onTimeout(kind), () => this.#queue.length > 0);
    this.#timer.set(Wait.Header, options.headerTimeout);
  }

  get state(): 'open' | 'closing' | 'closed' | 'dead' {
    return (['open', 'closing', 'closed', 'dead'] as const)[this.#state];
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#parser.idle && this.#pending === null;
  }

  /** What this connection holds in memory right now. */
  stats(): ConnectionStats {
    return {
      state: this.state,
      queued: this.#queue.length,
      pendingBytes: this.#pending === null ? 0 : this.#pending.length - this.#pendingOffset,
      writableLength: this.#socket.writableLength,
    };
  }

  /** Stop taking requests; close once what is queued has been answered. */
  shutdown(): void {
    if (this.#state !== ConnState.Open) return;
    this.#state = ConnState.Closing;
    this.#pending = null;
    if (this.#queue.length === 0) this.#end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // --- reading -------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#state !== ConnState.Open && this.#reading === null) return;
    if (this.#pending === null) {
      this.#pending = chunk;
      this.#pendingOffset = 0;
    } else {
      this.#pending = Buffer.concat([this.#pending.subarray(this.#pendingOffset), chunk]);
      this.#pendingOffset = 0;
    }
    if (this.#parser.idle && this.#timer.kind === Wait.KeepAlive) this.#timer.set(Wait.Header, this.#options.headerTimeout);
    this.#pump();
  }

  /** May the parser consume more bytes now? */
  #canParse(): boolean {
    const tx = this.#reading;
    if (tx !== null) return tx.discarding || (tx.body !== null && tx.bodyWanted);
    return this.#state === ConnState.Open && this.#queue.length < this.#options.maxPipeline;
  }

  #pump(): void {
    // Handlers may read bodies synchronously: never re-enter the parser.
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    do {
      this.#pumpAgain = false;
      while (this.#pending !== null && this.#canParse()) {
        const buf = this.#pending;
        const n = this.#parser.execute(buf, this.#pendingOffset);
        if (n >= buf.length) this.#pending = null;
        else this.#pendingOffset = n;
        if (this.#parser.error !== null) {
          this.#dispatchParsed();
          this.#pumping = false;
          return this.#onParseError();
        }
        this.#dispatchParsed();
      }
    } while (this.#pumpAgain);
    this.#pumping = false;
    if (this.#pending === null && this.#canParse()) {
      if (this.#socket.isPaused()) this.#socket.resume();
    } else if (!this.#socket.isPaused()) {
      this.#socket.pause();
    }
    this.#updateTimer();
  }

  /** Hands the requests just parsed to the handler, outside the parser. */
  #dispatchParsed(): void {
    const parsed = this.#parsed;
    if (parsed.length === 0) return;
    this.#parsed = [];
    for (const tx of parsed) this.#dispatch(tx);
  }

  onHead(head: RequestHead): boolean {
    const tx = this.#createTransaction(head);
    this.#queue.push(tx);
    if (tx.reply === null) this.#parsed.push(tx);
    else this.#scheduleFlush();
    if (head.bodyLength !== 0) {
      this.#reading = tx;
      return false;
    }
    return true;
  }

  onBody(chunk: Buffer): boolean {
    const tx = this.#reading!;
    tx.received += chunk.length;
    this.#timer.extend(Wait.Body, this.#options.bodyTimeout);
    if (tx.discarding) {
      if (tx.received > this.#options.maxDiscard) {
        tx.discarding = false;
        this.#closeAfterReplies();
        return false;
      }
      return true;
    }
    const body = tx.body!;
    if (tx.received > tx.request!.maxBodySize) {
      body.destroy(new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE'));
      tx.bodyWanted = false;
      this.#closeAfterReplies();
      return false;
    }
    if (!body.push(chunk)) tx.bodyWanted = false;
    return tx.bodyWanted;
  }

  onComplete(): boolean {
    const tx = this.#reading;
    if (tx !== null) {
      this.#reading = null;
      tx.bodyDone = true;
      tx.discarding = false;
      if (tx.body !== null) tx.body.push(null);
      if (tx.reply !== null) this.#flush();
    }
    return this.#state === ConnState.Open && this.#queue.length < this.#options.maxPipeline;
  }

  #createTransaction(head: RequestHead): Transaction {
    const tx: Transaction = new Transaction(null, head);
    const request = new Request({
      method: head.method,
      target: head.target,
      versionMinor: head.versionMinor,
      headers: head.headers,
      rawHeaders: head.rawHeaders,
      bodyLength: head.bodyLength,
      openBody: () => this.#openBody(tx),
      remoteAddress: () => this.#socket.remoteAddress ?? '',
    });
    (tx as { request: Request }).request = request;
    request.maxBodySize = this.#options.maxBodySize;
    // After CONNECT the bytes may be a tunnel, never HTTP: answer and close (RFC 9110 §9.3.6).
    if (!head.keepAlive || head.method === 'CONNECT') {
      tx.close = true;
      this.#state = ConnState.Closing;
    }
    // RFC 9110 §10.1.1: an expectation we do not know gets 417; a 1.0 client's is ignored.
    if (head.expect !== null && head.expect !== '100-continue' && head.versionMinor === 1) {
      tx.reply = errorReply(request.fail(new HttpError('WWW_ERR_PARSE_EXPECT', head.expect)));
    }
    return tx;
  }

  #dispatch(tx: Transaction): void {
    const request = tx.request!;
    if (this.#state >= ConnState.Closed) return;
    this.#handlers++;
    let result: Promise<Reply> | Reply;
    try {
      result = this.#server.handler(request);
    } catch (err) {
      result = Promise.reject(err);
    }
    // A reply given at once costs no promise and no turn of the event loop.
    if (typeof (result as Partial<Promise<Reply>>).then !== 'function') return this.#onReply(tx, result as Reply);
    (result as Promise<Reply>).then(
      (reply) => this.#onReply(tx, reply),
      (err) => {
        this.#server.events.onError?.(err);
        this.#onReply(tx, errorReply(request.fail(toHttpError(err))));
      },
    );
  }

  #openBody(tx: Transaction): Readable {
    const body = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        if (tx.bodyWanted) return;
        tx.bodyWanted = true;
        this.#pump();
      },
      destroy: (err, cb) => {
        // The consumer gave up: the rest of the body is not wanted.
        if (!tx.bodyDone && tx.body === body) {
          tx.bodyWanted = false;
          if (this.#reading === tx) this.#closeAfterReplies();
        }
        cb(err);
      },
    });
    tx.body = body;
    if (tx.bodyDone) body.push(null);
    else if (tx.head!.expect === '100-continue' && tx.head!.versionMinor === 1 && tx.received === 0) {
      // RFC 9110 §10.1.1: 100 only once the body is wanted, and in turn.
      tx.continuePending = true;
      if (this.#queue[0] === tx && this.#streaming === null) this.#flush();
    }
    return body;
  }

  #onParseError(): void {
    const err = new HttpError(this.#parser.error!, this.#parser.errorDetail);
    this.#pending = null;
    this.#socket.pause();
    const reading = this.#reading;
    if (reading !== null) {
      // The message in flight is broken: its consumer sees the error, then we close.
      this.#reading = null;
      reading.body?.destroy(err);
      reading.discarding = false;
      this.#closeAfterReplies();
      return;
    }
    this.#state = ConnState.Closing;
    const tx = new Transaction(null, null);
    tx.reply = errorReply(err);
    tx.close = true;
    this.#queue.push(tx);
    this.#server.events.onError?.(err);
    this.#flush();
  }

  /** Answer what is queued, saying `Connection: close`, then close. */
  #closeAfterReplies(): void {
    if (this.#state === ConnState.Open) this.#state = ConnState.Closing;
    this.#pending = null;
    this.#updateTimer();
  }

  #onEnd(): void {
    this.#ended = true;
    // A half-closed client still gets its responses (RFC 9112 §9.6).
    const reading = this.#reading;
    if (reading !== null) {
      this.#reading = null;
      reading.body?.destroy(new HttpError('WWW_ERR_REQ_ABORTED', 'body incomplete'));
    }
    if (this.#state === ConnState.Open) this.#state = ConnState.Closing;
    if (this.#pending !== null) {
      // What is buffered may still hold complete requests.
      const state = this.#state;
      this.#state = ConnState.Open;
      this.#pump();
      if (this.#state === ConnState.Open) this.#state = state;
    }
    if (this.#queue.length === 0) this.#end();
  }

  #onClose(): void {
    this.#state = ConnState.Closed;
    this.#timer.stop();
    this.#pending = null;
    for (const tx of this.#queue) {
      tx.request?.abort();
      tx.body?.destroy();
      destroyBody(tx.reply);
    }
    this.#queue.length = 0;
    if (this.#streaming !== null) {
      this.#streaming.destroy();
      this.#streaming = null;
    }
    this.#server.forget(this);
    this.#maybeDead();
  }

  #maybeDead(): void {
    if (this.#state === ConnState.Closed && this.#handlers === 0) this.#state = ConnState.Dead;
  }

  // --- writing -------------------------------------------------------------

  #onReply(tx: Transaction, reply: Reply): void {
    this.#handlers--;
    if (this.#state >= ConnState.Closed || tx.reply !== null) {
      // Gone, or already answered by a timeout.
      destroyBody(reply);
      this.#maybeDead();
      return;
    }
    tx.reply = reply;
    if (this.#queue[0] !== tx) return;
    // Alone in the queue, nothing to batch with: write now.
    if (this.#queue.length === 1 && !this.#flushScheduled) this.#flush();
    else this.#scheduleFlush();
  }

  /**
   * Pipelined replies that become ready in the same turn leave in one write:
   * the flush runs once the microtasks that resolve them have drained.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #onDrain(): void {
    this.#progress();
    if (this.#streaming !== null) {
      if (!this.#direct) this.#streaming.resume();
    } else {
      this.#flush();
    }
    this.#updateTimer();
  }

  /** The client took bytes: a write stall is measured from here. */
  #progress(): void {
    this.#timer.extend(Wait.Write, this.#options.writeTimeout);
  }

  /** Writes from the head of the queue, in order, batching what is ready. */
  #flush(): void {
    if (this.#streaming !== null || this.#state >= ConnState.Closed) return;
    const socket = this.#socket;
    // One reply: one write. Several ready at once: corked into one writev.
    const corked = this.#queue.length > 1;
    if (corked) socket.cork();
    while (this.#queue.length > 0) {
      const tx = this.#queue[0]!;
      if (tx.continuePending) {
        tx.continuePending = false;
        if (tx.reply === null) socket.write(CONTINUE);
      }
      if (tx.reply === null || socket.writableNeedDrain) break;
      if (!this.#write(tx)) break; // a stream body: #finish runs when it ends
      this.#finish(tx);
      if (tx.close) break;
    }
    if (corked) socket.uncork();
    this.#updateTimer();
  }

  /** Writes one reply. Returns false when a stream body is still flowing. */
  #write(tx: Transaction): boolean {
    const reply = tx.reply!;
    const request = tx.request;
    const versionMinor = tx.head?.versionMinor ?? 1;
    if (!tx.bodyDone) {
      // Replying before the body was read: drop a small rest, else close (RFC 9112 §9.6).
      const rest = tx.head!.bodyLength - tx.received;
      if (tx.head!.bodyLength > 0 && rest <= this.#options.maxDiscard && !tx.continuePending &&
          !(tx.head!.expect === '100-continue' && tx.body === null) && this.#state === ConnState.Open) {
        if (tx.body === null) {
          tx.discarding = true;
          queueMicrotask(() => this.#pump());
        }
      } else {
        tx.close = true;
      }
    }
    // Closing: the last reply queued says so (RFC 9112 §9.6).
    if (this.#state !== ConnState.Open && this.#queue.length === 1) tx.close = true;
    const noContent = hasNoContent(reply.status, request?.method);
    let chunked = false;
    if (!noContent && reply.length < 0) {
      if (versionMinor === 1) chunked = true;
      else tx.close = true; // HTTP/1.0: the close delimits the body
    }
    const head = serializeHead(reply, { chunked, close: tx.close, keepAlive10: versionMinor === 0 && !tx.close }, this.#options.serverName);
    const socket = this.#socket;
    const body = reply.body;
    if (noContent || body === null) {
      if (body !== null && !Buffer.isBuffer(body)) body.destroy();
      socket.write(head, 'latin1');
      this.#server.events.onReply?.(request, reply, 0);
      return true;
    }
    if (Buffer.isBuffer(body)) {
      if (!chunked && body.length <= SMALL_BODY) {
        // Head and a small body in one buffer: one write, no writev.
        socket.write(headWithBody(head, body));
        this.#server.events.onReply?.(request, reply, body.length);
        return true;
      }
      // One writev, not a write per piece: the client wakes once for the whole reply.
      socket.cork();
      socket.write(head, 'latin1');
      if (chunked) {
        if (body.length > 0) {
          socket.write(body.length.toString(16) + '\r\n', 'latin1');
          socket.write(body);
          socket.write(CRLF);
        }
        socket.write(LAST_CHUNK);
      } else {
        socket.write(body);
      }
      socket.uncork();
      this.#server.events.onReply?.(request, reply, body.length);
      return true;
    }
    socket.write(head, 'latin1');
    if (!chunked && isDirectBody(body)) this.#writeDirect(tx, body);
    else this.#pipe(tx, body, chunked);
    return false;
  }

  /** A body that writes itself, reusing its buffers (files). */
  #writeDirect(tx: Transaction, body: Readable & DirectBody): void {
    const socket = this.#socket;
    this.#streaming = body;
    this.#direct = true;
    body.on('error', () => {}); // reported through `done`
    body.writeTo(socket, () => {
      this.#progress();
      this.#updateTimer();
    }, (err) => {
      if (this.#streaming === body) {
        this.#streaming = null;
        this.#direct = false;
      }
      if (err !== null) {
        this.#server.events.onError?.(err);
        return void socket.destroy();
      }
      this.#server.events.onReply?.(tx.request, tx.reply!, tx.reply!.length);
      this.#finish(tx);
      this.#flush();
    });
  }

  #pipe(tx: Transaction, body: Readable, chunked: boolean): void {
    const socket = this.#socket;
    const expected = tx.reply!.length;
    let sent = 0;
    this.#streaming = body;
    const onData = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      sent += chunk.length;
      let ok: boolean;
      if (chunked) {
        socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
        socket.write(chunk);
        ok = socket.write(CRLF);
      } else {
        if (expected >= 0 && sent > expected) return fail(new Error('body longer than Content-Length'));
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        this.#updateTimer();
      }
    };
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', fail);
      this.#streaming = null;
    };
    const onEnd = () => {
      cleanup();
      // A body shorter than its Content-Length would desynchronise the client.
      if (expected >= 0 && sent !== expected) return void socket.destroy();
      if (chunked) socket.write(LAST_CHUNK);
      this.#server.events.onReply?.(tx.request, tx.reply!, sent);
      this.#finish(tx);
      this.#flush();
    };
    const fail = (err: unknown) => {
      cleanup();
      body.destroy();
      this.#server.events.onError?.(err);
      // The head is gone: the only honest signal left is to close.
      socket.destroy();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', fail);
  }

  /** A reply has been written: the next transaction may write. */
  #finish(tx: Transaction): void {
    this.#queue.shift();
    if (tx.close) {
      this.#closeAfterReplies();
      this.#end();
      return;
    }
    if (this.#reading === null && this.#state === ConnState.Open) this.#pump();
    if (this.#queue.length === 0 && this.#state === ConnState.Closing && this.#reading === null) this.#end();
  }

  #end(): void {
    if (this.#state >= ConnState.Closed || this.#endSent) return;
    this.#endSent = true;
    this.#state = ConnState.Closing;
    for (const tx of this.#queue) {
      tx.request?.abort();
      destroyBody(tx.reply);
    }
    this.#queue.length = 0;
    this.#socket.end();
    this.#updateTimer();
    // A client that never reads our FIN-wait data must not hold the socket forever.
    if (!this.#ended) this.#timer.set(Wait.Write, this.#options.writeTimeout);
  }

  // --- timeouts --------------------------------------------------------------

  /** Picks the timeout that applies to what the connection is waiting for. */
  #updateTimer(): void {
    if (this.#state >= ConnState.Closed) return;
    const o = this.#options;
    const timer = this.#timer;
    if (this.#socket.writableNeedDrain || (this.#state === ConnState.Closing && this.#queue.length === 0)) {
      if (timer.kind !== Wait.Write) timer.set(Wait.Write, o.writeTimeout);
    } else if (this.#reading !== null && (this.#reading.bodyWanted || this.#reading.discarding)) {
      if (timer.kind !== Wait.Body) timer.set(Wait.Body, o.bodyTimeout);
    } else if (this.#queue.length === 0 && this.#parser.idle && this.#pending === null) {
      if (timer.kind !== Wait.KeepAlive) timer.set(Wait.KeepAlive, o.keepAliveTimeout);
    } else if (this.#parser.inHead && this.#queue.length === 0) {
      // The deadline runs from the head's first byte; trickling bytes do not extend it.
      if (timer.kind !== Wait.Header) timer.set(Wait.Header, o.headerTimeout);
    } else {
      timer.idle();
    }
  }

  #period(): number {
    const o = this.#options;
    return Math.max(1, Math.min(o.headerTimeout, o.keepAliveTimeout, o.bodyTimeout, o.writeTimeout));
  }

  #onTimeout(kind: Wait): void {
    if (this.#state >= ConnState.Closed) return;
    switch (kind) {
      case Wait.KeepAlive:
      case Wait.Write:
        this.#socket.destroy();
        return;
      case Wait.Header:
      case Wait.Body: {
        const reading = this.#reading;
        const err = new HttpError('WWW_ERR_REQ_TIMEOUT', kind === Wait.Header ? 'header' : 'body');
        this.#server.events.onError?.(err);
        if (reading !== null) {
          this.#reading = null;
          reading.body?.destroy(err);
          this.#closeAfterReplies();
          if (reading.reply === null && reading.body === null) reading.reply = errorReply(err);
          if (this.#queue[0] === reading) this.#flush();
          return;
        }
        // RFC 9110 §15.5.9: 408 then close.
        this.#pending = null;
        this.#state = ConnState.Closing;
        const tx = new Transaction(null, null);
        tx.reply = errorReply(err);
        tx.close = true;
        this.#queue.push(tx);
        this.#flush();
        return;
      }
    }
  }
}

function destroyBody(reply: Reply | null): void {
  const body = reply?.body;
  if (body != null && !Buffer.isBuffer(body)) body.destroy();
}

export class HttpServer {
  readonly handler: Handler;
  readonly events: WireEvents;
  readonly options: WireOptions;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  #closing = false;

  constructor(handler: Handler, options: Partial<WireOptions> = {}, events: WireEvents = {}) {
    this.handler = handler;
    this.events = events;
    this.options = { ...DEFAULT_WIRE, ...options };
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.#closing) return void socket.destroy();
      this.#connections.add(new Connection(socket, this, this.options));
    });
  }

  get connections(): number {
    return this.#connections.size;
  }

  stats(): ConnectionStats[] {
    return [...this.#connections].map((c) => c.stats());
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
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

  /** Stops accepting, lets what is in flight finish within `graceMs`, then closes. */
  close(graceMs = 10_000): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of this.#connections) c.shutdown();
    if (this.#connections.size === 0) return closed;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.#connections) c.destroy();
      }, graceMs);
      timer.unref();
      const check = setInterval(() => {
        if (this.#connections.size === 0) {
          clearInterval(check);
          clearTimeout(timer);
          closed.then(resolve);
        }
      }, 20);
    });
  }
}
