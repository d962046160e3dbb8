// One connection of the HTTP server module: the connection manager of
// Squid's "new server side" design (libwww's HTTPServer stream). It owns the
// socket, the read buffer, the parser and a FIFO of transactions. Requests
// are parsed ahead up to a bound; only the head of the queue writes, so
// replies leave in request order (the writer: http-response.ts). Nothing is
// parsed past a request of an unsafe method until it has its reply (RFC 9112
// §9.3.2: only safe requests may be processed in parallel), so a GET after a
// PUT sees what the PUT did.
//
// Two state machines, each the one source of truth for its side:
// - the connection: OPEN → CLOSING (no new requests) → CLOSED (socket gone:
//   every queued request aborted, every reply stream destroyed) → DEAD
//   (every handler has returned);
// - the read side: HEAD (between or inside heads) ⇄ BODY (a transaction's
//   body is next on the wire: read when its consumer wants bytes, or
//   discarded) ⇄ HOLD (after a CONNECT or an Upgrade request: the bytes that
//   follow may be another protocol, so they wait for its reply: a tunnel
//   takes them with the socket, anything else lets HTTP go on) → STOPPED
//   (no request is read again; what arrives is dropped).
// `#canParse` alone answers "may the parser take bytes now?". The client's
// FIN only says that no byte follows what is buffered: a message it cuts
// short is answered 400, and nothing after it is ever parsed.
//
// A server stop (`shutdown()`) is an input, not a third machine: an idle
// connection closes at once; a busy one stays OPEN and reads on, so that a
// head arriving during the stop is answered 503 with `Connection: close`
// (and nothing after it read) instead of being dropped unanswered; and the
// last reply queued says `Connection: close`, which makes it CLOSING.
//
// Every socket, timer and promise callback runs behind an exception
// boundary: a throw there ends this connection only (see HttpServer.caught).

import type * as net from 'node:net';
import { Readable } from 'node:stream';
import { RequestParser } from './http-parser.js';
import type { ParserHandler, RequestHead } from './http-parser.js';
import { ReplyWriter } from './http-response.js';
import { serializeInterim } from './http-writer.js';
import { Wait, WaitTimer } from './http-timer.js';
import { atPollEnd, awaited, type AtPollEnd } from './poll-end.js';
import { Transaction, type TransactionOwner } from './http-transaction.js';
import { Request } from '../src/request.js';
import type { Reply, ReplyHeaders } from '../src/reply.js';
import { errorReply } from '../src/reply.js';
import { HttpError } from '../src/errors.js';
import { toHttpError } from '../src/net.js';
import type { HttpServer, WireOptions } from './http-server.js';

export type ConnectionState = 'open' | 'closing' | 'closed' | 'dead';

export interface ConnectionStats {
  state: ConnectionState;
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

const enum Read {
  Head,
  Body,
  Hold,
  Stopped,
}

const STATE_NAMES: readonly ConnectionState[] = ['open', 'closing', 'closed', 'dead'];
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
/** Seconds a client refused during a stop is asked to wait: a restarted server is usually back by then. */
const STOPPING_RETRY_AFTER = '5';
/** RFC 9110 §9.2.1: the safe methods. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export class Connection implements ParserHandler, AtPollEnd {
  readonly #socket: net.Socket;
  readonly #server: HttpServer;
  readonly #options: WireOptions;
  readonly #parser: RequestParser;
  readonly #writer: ReplyWriter;
  readonly #timer: WaitTimer;
  readonly #queue: Transaction[] = [];
  #state = ConnState.Open;
  #read = Read.Head;
  /** The transaction whose body is next on the wire: set exactly while #read is Body. */
  #reading: Transaction | null = null;
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  /** The client sent its FIN: nothing follows what is pending. */
  #eof = false;
  /** Our FIN is queued. */
  #endSent = false;
  #handlers = 0;
  #flushScheduled = false;
  #pumping = false;
  #pumpAgain = false;
  /** The server is stopping: new heads are answered 503, and idle means closed. */
  #stopping = false;
  /** Transactions parsed in this pass, handed to the handler after it. */
  #parsed: Transaction[] = [];
  /** The transaction whose message the parser is in (or just finished). */
  #current: Transaction | null = null;
  /** The connection's side of its transactions' requests: made once, not per request. */
  readonly #owner: TransactionOwner = {
    openBody: (tx) => this.#openBody(tx),
    interim: (tx, status, headers) => this.#edge(() => this.#interim(tx, status, headers)),
    remoteAddress: () => this.#socket.remoteAddress ?? '',
  };
  readonly #listeners: [string, (...args: any[]) => void][];

  constructor(socket: net.Socket, server: HttpServer, options: WireOptions) {
    this.#socket = socket;
    this.#server = server;
    this.#options = options;
    this.#parser = new RequestParser(this, options);
    this.#writer = new ReplyWriter(socket, options, {
      progress: () => this.#edge(() => this.#progress()),
      blocked: () => this.#edge(() => this.#updateTimer()),
      done: (out, err) => this.#edge(() => this.#streamDone(out as Transaction, err)),
      written: (out, bytes) => server.events.onReply?.(out.request, out.reply!, bytes, out.request === null ? socket.remoteAddress : undefined),
      cut: (out, bytes) => server.events.onCut?.(out.request, out.reply!, bytes),
    });
    this.#listeners = [
      // The hot one, without a closure per read.
      ['data', (chunk: Buffer) => {
        try {
          this.#onData(chunk);
        } catch (err) {
          this.#caught(err);
        }
      }],
      ['end', () => this.#edge(() => this.#onEnd())],
      ['close', () => this.#edge(() => this.#onClose())],
      ['drain', () => this.#edge(() => this.#onDrain())],
    ];
    for (const [event, listener] of this.#listeners) socket.on(event, listener);
    // 'close' follows an error. Stays after a hand-over: a tunnel's socket never throws an unheard error.
    socket.on('error', () => {});
    this.#timer = new WaitTimer(() => this.#period(), (kind) => this.#edge(() => this.#onTimeout(kind)), () => this.#queue.length > 0);
    this.#timer.set(Wait.Header, options.headerTimeout);
  }

  get state(): ConnectionState {
    return STATE_NAMES[this.#state]!;
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

  /**
   * The server stops: what is queued is answered, the last reply says
   * `Connection: close`, a head that arrives meanwhile is answered 503, and
   * a connection with nothing to do closes now.
   */
  shutdown(): void {
    this.#edge(() => {
      if (this.#state !== ConnState.Open || this.#stopping) return;
      this.#stopping = true;
      this.#stopIfIdle();
    });
  }

  /** Stopping, with nothing queued, nothing buffered and no head begun: close now. */
  #stopIfIdle(): void {
    if (this.#stopping && this.#state === ConnState.Open && this.#read === Read.Head && this.#queue.length === 0
        && this.#pending === null && this.#parser.idle) this.#noMoreRequests();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * The invariants that tie the two state machines together, as a list of
   * the broken ones (for tests and the fuzzer; true between any two events).
   */
  check(): string[] {
    const broken: string[] = [];
    const tx = this.#reading;
    if ((this.#read === Read.Body) !== (tx !== null)) broken.push('reading a body without a transaction, or the reverse');
    if (tx !== null && (tx.bodyDone || tx.failed !== null)) broken.push('reading a body that is over');
    if (tx !== null && tx.discarding && tx.body !== null) broken.push('discarding a body a consumer holds');
    if (this.#read === Read.Stopped && this.#pending !== null) broken.push('bytes pending while reading is stopped');
    if (this.#endSent && (this.#read !== Read.Stopped || this.#queue.length > 0)) broken.push('FIN sent with work left');
    if (this.#state >= ConnState.Closed && this.#queue.length > 0) broken.push('transactions queued on a closed connection');
    if (this.#state === ConnState.Open && this.#read === Read.Stopped) broken.push('open but reading no more requests');
    if (this.#stopping && this.#state === ConnState.Open && this.#read === Read.Head && this.#queue.length === 0
        && this.#pending === null && this.#parser.idle) broken.push('idle and open while the server stops');
    // Nothing queued and nothing in flight: the connection must be waiting for something that can expire.
    if (this.#state < ConnState.Closed && !this.#socket.destroyed && this.#queue.length === 0 && !this.#writer.busy && this.#timer.kind === Wait.None) {
      broken.push('idle with no timeout');
    }
    return broken;
  }

  // --- the exception boundary ------------------------------------------------

  /** Runs an I/O callback; a throw ends this connection, never the process. */
  #edge(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#caught(err);
    }
  }

  #caught(err: unknown): void {
    this.#server.caught(err);
    this.#teardown();
    this.#socket.destroy();
  }

  // --- reading ---------------------------------------------------------------

  #onData(chunk: Buffer): void {
    // Stopped: nothing more is parsed; reading on lets a reset be seen and the kernel's buffer drain.
    if (this.#read === Read.Stopped) return;
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

  /** May the parser take bytes now? The one place that says so. */
  #canParse(): boolean {
    switch (this.#read) {
      case Read.Head:
        return this.#state === ConnState.Open && this.#queue.length < this.#options.maxPipeline && !this.#unsafePending();
      case Read.Body: {
        const tx = this.#reading!;
        return tx.discarding || (tx.body !== null && tx.wanted);
      }
      case Read.Hold:
      case Read.Stopped:
        return false;
    }
  }

  /** A request of an unsafe method waits for its reply: what follows it is not processed yet (RFC 9112 §9.3.2). */
  #unsafePending(): boolean {
    for (const tx of this.#queue) if (tx.reply === null && tx.head !== null && !SAFE_METHODS.has(tx.head.method)) return true;
    return false;
  }

  #pump(): void {
    // Handlers and body consumers may call back synchronously: never re-enter the parser.
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        while (this.#pending !== null && this.#canParse()) {
          const buf = this.#pending;
          const n = this.#parser.execute(buf, this.#pendingOffset);
          if (this.#pending === buf) {
            if (n >= buf.length) this.#pending = null;
            else this.#pendingOffset = n;
          }
          if (this.#parser.error !== null) {
            this.#dispatchParsed();
            this.#onParseError();
            break;
          }
          this.#dispatchParsed();
        }
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
    if (this.#eof && this.#pending === null && (this.#read === Read.Head || this.#read === Read.Body)) this.#inputEnded();
    this.#stopIfIdle();
    this.#flow();
    this.#updateTimer();
  }

  /** Reads from the socket while there is somewhere for the bytes to go. */
  #flow(): void {
    if (this.#state >= ConnState.Closed) return;
    const socket = this.#socket;
    if (this.#read === Read.Stopped || (this.#pending === null && this.#canParse())) {
      if (socket.isPaused()) socket.resume();
    } else if (!socket.isPaused()) {
      socket.pause();
    }
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
    this.#current = tx;
    this.#queue.push(tx);
    if (tx.reply === null) this.#parsed.push(tx);
    else this.#scheduleFlush();
    if (head.bodyLength !== 0) {
      this.#read = Read.Body;
      this.#reading = tx;
      return false;
    }
    return true;
  }

  onBody(chunk: Buffer): boolean {
    const tx = this.#reading;
    if (tx === null) throw new Error('body bytes with no transaction reading');
    tx.received += chunk.length;
    this.#timer.extend(Wait.Body, this.#options.bodyTimeout);
    if (tx.discarding) {
      if (tx.received <= this.#options.maxDiscard) return true;
      tx.discarding = false;
      this.#noMoreRequests();
      return false;
    }
    if (tx.received > tx.request!.maxBodySize) {
      this.#failBody(tx, new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE'));
      return false;
    }
    if (!tx.body!.push(chunk)) tx.wanted = false;
    return this.#reading === tx && tx.wanted;
  }

  onComplete(): boolean {
    const tx = this.#reading;
    if (tx !== null) {
      this.#reading = null;
      this.#read = Read.Head;
      tx.bodyDone = true;
      tx.discarding = false;
      // Known before the body ends, for whoever relays them.
      if (this.#parser.trailers !== null && tx.request !== null) tx.request.rawTrailers = this.#parser.trailers;
      tx.body?.push(null);
    }
    if (this.#current?.switching === true) {
      // What follows may not be HTTP: it waits for this request's reply.
      this.#read = Read.Hold;
      return false;
    }
    if (this.#state !== ConnState.Open) {
      // RFC 9112 §9.6: nothing after a closing request is processed.
      this.#stopReading();
      return false;
    }
    return this.#canParse();
  }

  #createTransaction(head: RequestHead): Transaction {
    const tx = new Transaction(this.#owner, head);
    const request = new Request({
      method: head.method,
      target: head.target,
      versionMinor: head.versionMinor,
      headers: head.headers,
      rawHeaders: head.rawHeaders,
      bodyLength: head.bodyLength,
      wire: tx,
      secure: (this.#socket as net.Socket & { encrypted?: boolean }).encrypted === true,
    });
    tx.request = request;
    request.maxBodySize = this.#options.maxBodySize;
    // After CONNECT the bytes may be a tunnel, never HTTP: answer and close (RFC 9110 §9.3.6).
    if (!head.keepAlive || head.method === 'CONNECT') {
      tx.close = true;
      this.#state = ConnState.Closing;
    }
    if (this.#stopping) {
      // RFC 9110 §15.6.4: no new work while the server stops, but an answer
      // that says so; the client may retry elsewhere or later.
      tx.reply = this.#errorFor(request, new HttpError('WWW_ERR_REQ_STOPPING', undefined, { headers: { 'Retry-After': STOPPING_RETRY_AFTER } }));
      tx.close = true;
      this.#state = ConnState.Closing;
    } else if (head.expect !== null && head.expect !== '100-continue' && head.versionMinor === 1) {
      // RFC 9110 §10.1.1: an expectation we do not know gets 417; a 1.0 client's is ignored.
      tx.reply = this.#errorFor(request, new HttpError('WWW_ERR_PARSE_EXPECT', head.expect));
    }
    return tx;
  }

  #dispatch(tx: Transaction): void {
    const request = tx.request!;
    if (this.#state >= ConnState.Closed || tx.reply !== null) return;
    this.#handlers++;
    let result: Promise<Reply> | Reply;
    try {
      result = this.#server.handler(request);
    } catch (err) {
      result = Promise.reject(err);
    }
    // A reply given at once costs no promise and no turn of the event loop.
    if (typeof (result as Partial<Promise<Reply>>).then !== 'function') return this.#onReply(tx, result as Reply, false);
    awaited.count++;
    (result as Promise<Reply>).then(
      (reply) => {
        awaited.count--;
        try {
          this.#onReply(tx, reply, true);
        } catch (err) {
          this.#caught(err);
        }
      },
      (err) => this.#edge(() => {
        awaited.count--;
        this.#server.events.onError?.(err);
        this.#onReply(tx, this.#errorFor(request, toHttpError(err)), true);
      }),
    );
  }

  #openBody(tx: Transaction): Readable {
    const body: Readable = new Readable({
      highWaterMark: 64 * 1024,
      read: () => this.#edge(() => {
        if (tx.wanted || tx.body !== body) return;
        tx.wanted = true;
        this.#pump();
      }),
      destroy: (err, cb) => {
        // The consumer gave up: the rest of the body is not wanted.
        if (tx.body === body) this.#edge(() => this.#giveUpBody(tx));
        // As Node's IncomingMessage does: the error reaches a consumer that
        // listens for it (for await, pipeline), and nobody else: a handler
        // busy elsewhere when the client goes away must not end the process.
        process.nextTick(() => cb(body.listenerCount('error') > 0 ? err : null));
      },
    });
    if (tx.failed !== null) return body.destroy(tx.failed);
    if (tx.bodyDone) {
      body.push(null);
      return body;
    }
    if (tx.discarding || this.#state >= ConnState.Closed) {
      return body.destroy(new HttpError('WWW_ERR_REQ_ABORTED', 'the body was already answered for'));
    }
    // Closing in stages (#end): no more of any body is read.
    if (this.#endSent) return body.destroy(new HttpError('WWW_ERR_REQ_ABORTED'));
    tx.body = body;
    const head = tx.head!;
    if (head.versionMinor === 1 && this.#awaitsContinue(tx)) {
      // RFC 9110 §10.1.1: 100 only once the body is wanted, and in turn.
      tx.continuePending = true;
      if (this.#queue[0] === tx) this.#flush();
    }
    return body;
  }

  /**
   * An interim response for `tx` (a relayed 100 or 103 Early Hints): written
   * now if `tx` is at the head of the queue and not answered, in turn as the
   * server's own 100 Continue is; otherwise dropped, since an interim
   * response is never required (RFC 9110 §15.2). Never to an HTTP/1.0 client
   * (§15.2), and a 100 only to a client that expects one and has none yet.
   */
  #interim(tx: Transaction, status: number, headers: ReplyHeaders): void {
    if (this.#state >= ConnState.Closed || this.#endSent || this.#queue[0] !== tx || tx.reply !== null || this.#writer.busy) return;
    const head = tx.head;
    if (head === null || head.versionMinor !== 1) return;
    if (status === 100) {
      if (!this.#awaitsContinue(tx) || tx.failed !== null || tx.discarding) return;
      tx.continueSent = true;
      tx.continuePending = false;
    }
    this.#socket.write(serializeInterim(status, headers), 'latin1');
  }

  /** Nothing of the body's rest is wanted: drop a small rest, else read no further. */
  #giveUpBody(tx: Transaction): void {
    tx.body = null;
    tx.wanted = false;
    if (tx.bodyDone || tx.failed !== null || tx.discarding || this.#reading !== tx) return;
    if (this.#state >= ConnState.Closed) return;
    if (this.#mayDiscard(tx)) {
      tx.discarding = true;
      this.#pump();
    } else if (!(tx.head!.bodyLength < 0 && this.#queue.includes(tx))) {
      // (A chunked rest not answered yet is judged when its reply is written: #discardArrived.)
      this.#noMoreRequests();
    }
  }

  /** The rest of a body with a length, up to maxDiscard, on a connection that goes on, is read and dropped. */
  #mayDiscard(tx: Transaction): boolean {
    const length = tx.head!.bodyLength;
    return length > 0 && length - tx.received <= this.#options.maxDiscard && this.#state === ConnState.Open
      && !this.#awaitsContinue(tx);
  }

  /**
   * A client that waits for 100 Continue may never send its body (RFC 9110
   * §10.1.1). One whose body bytes have begun to arrive waits no more, and
   * needs no 100 (a server MAY omit it then).
   */
  #awaitsContinue(tx: Transaction): boolean {
    return tx.head!.expect === '100-continue' && !tx.continueSent && tx.received === 0 && !(this.#reading === tx && this.#pending !== null);
  }

  /**
   * A chunked rest has no size to judge by: before its reply says whether
   * the connection goes on, what has already arrived of it is dropped (up to
   * maxDiscard). If the body ended there the connection goes on; else the
   * reply says close (#prepare), and the head never promises what the
   * connection cannot keep.
   */
  #discardArrived(tx: Transaction): void {
    if (this.#pumping || tx.head === null || tx.head.bodyLength >= 0 || tx.body !== null || tx.discarding || tx.bodyDone
        || tx.failed !== null || this.#reading !== tx || this.#state !== ConnState.Open || this.#awaitsContinue(tx)) return;
    tx.discarding = true;
    this.#pump();
  }

  /**
   * The wire's own answer to a request it parsed (a stop, an expectation, a
   * body cut short): an error reply, presented as the server presents its
   * errors (HttpServer.present: HTML, problem details or text by Accept).
   */
  #errorFor(request: Request, err: HttpError): Reply {
    const reply = errorReply(request.fail(err));
    const present = this.#server.present;
    return present === null ? reply : present(reply, request);
  }

  /**
   * The body of `tx` can never complete: its consumer sees `err`, the
   * request is aborted, and, unless it was answered already, answered with
   * `err` at once (its handler's reply, when it comes, is dropped). Nothing
   * after it is read.
   */
  #failBody(tx: Transaction, err: HttpError): void {
    tx.failed = err;
    tx.discarding = false;
    tx.wanted = false;
    this.#noMoreRequests();
    const body = tx.body;
    tx.body = null;
    body?.destroy(err);
    if (tx.reply === null) {
      tx.reply = tx.request === null ? errorReply(err) : this.#errorFor(tx.request, err);
      tx.request?.abort(err);
      if (this.#queue[0] === tx) this.#scheduleFlush();
    }
  }

  /** The client's FIN and everything before it has been taken. */
  #inputEnded(): void {
    const tx = this.#reading;
    this.#noMoreRequests();
    if (tx !== null) this.#failBody(tx, new HttpError('WWW_ERR_REQ_BODY_INCOMPLETE'));
    if (this.#queue.length === 0) this.#end();
  }

  #onParseError(): void {
    const err = new HttpError(this.#parser.error!, this.#parser.errorDetail);
    const tx = this.#reading;
    this.#server.events.onError?.(err);
    // The message in flight is broken: it is answered with the error.
    if (tx !== null) this.#failBody(tx, err);
    else this.#answer(err);
  }

  /** Answers with `err` after what is queued, and reads no further (a parse error, a header timeout). */
  #answer(err: HttpError): void {
    const answer = new Transaction(this.#owner, null);
    answer.reply = errorReply(err);
    answer.close = true;
    this.#queue.push(answer);
    this.#noMoreRequests();
    this.#scheduleFlush();
  }

  /**
   * No request is read again: the last queued reply says `Connection: close`,
   * and with none queued the connection ends now.
   */
  #noMoreRequests(): void {
    if (this.#state === ConnState.Open) this.#state = ConnState.Closing;
    this.#stopReading();
    if (this.#queue.length === 0) this.#end();
  }

  #stopReading(): void {
    this.#read = Read.Stopped;
    this.#reading = null;
    this.#pending = null;
  }

  #onEnd(): void {
    this.#eof = true;
    if (this.#read === Read.Stopped) {
      if (this.#queue.length === 0) this.#end();
      return;
    }
    const tx = this.#reading;
    if (tx !== null && tx.head!.bodyLength > 0) {
      // A length says at once whether what is buffered completes the body.
      const buffered = this.#pending === null ? 0 : this.#pending.length - this.#pendingOffset;
      if (buffered < tx.head!.bodyLength - tx.received) return this.#inputEnded();
    }
    // What is buffered may still hold whole requests (RFC 9112 §9.6: a half-closed client is answered).
    this.#pump();
  }

  #onClose(): void {
    this.#teardown();
    this.#server.forget(this);
    this.#maybeDead();
  }

  /** The socket is gone: every queued request is aborted, every body and reply stream destroyed. */
  #teardown(): void {
    if (this.#state >= ConnState.Closed) return;
    this.#state = ConnState.Closed;
    this.#timer.stop();
    const reading = this.#reading;
    this.#stopReading();
    this.#parsed = [];
    const err = new HttpError('WWW_ERR_REQ_ABORTED');
    // The reply being written is cut short (the writer says so); the others were never sent.
    this.#writer.destroy();
    const readingQueued = reading === null || this.#queue.includes(reading);
    this.#dropQueue(err);
    if (!readingQueued && reading!.request !== null) {
      reading!.request.abort(err);
      this.#server.events.onCut?.(reading!.request, errorReply(err), 0);
    }
  }

  /**
   * Every queued transaction is given up: its request aborted, its body
   * (an upload still arriving) and its reply destroyed, and one never
   * answered logged as the client's loss (499, as nginx logs it).
   */
  #dropQueue(err: HttpError): void {
    const cut = this.#server.events.onCut;
    for (const tx of this.#queue) {
      tx.request?.abort(err);
      const body = tx.body;
      tx.body = null;
      body?.destroy(err);
      destroyBody(tx.reply);
      if (!tx.reported && tx.request !== null) cut?.(tx.request, errorReply(err), 0);
    }
    this.#queue.length = 0;
  }

  #maybeDead(): void {
    if (this.#state === ConnState.Closed && this.#handlers === 0) this.#state = ConnState.Dead;
  }

  // --- writing ---------------------------------------------------------------

  /** `later`: the reply was awaited (a load, a proxied request), not given at once. */
  #onReply(tx: Transaction, reply: Reply, later: boolean): void {
    this.#handlers--;
    if (this.#state >= ConnState.Closed || tx.reply !== null) {
      // Gone, or already answered (a timeout, a broken body).
      destroyBody(reply);
      this.#maybeDead();
      return;
    }
    tx.reply = reply;
    // A flush already coming writes this one too.
    if (this.#queue[0] === tx && !this.#flushScheduled) {
      if (later && awaited.count > 0) {
        // Other replies are awaited: those that come in this turn leave with this one (poll-end.ts).
        this.#flushScheduled = true;
        atPollEnd(this);
      } else if (this.#queue.length === 1) {
        // Alone in the queue, nothing to batch with: write now.
        this.#flush();
      } else {
        this.#scheduleFlush();
      }
    }
    // What follows an unsafe request may be parsed now.
    if (tx.head !== null && !SAFE_METHODS.has(tx.head.method)) this.#pump();
  }

  /**
   * Pipelined replies that become ready in the same turn leave in one write:
   * the flush runs once the microtasks that resolve them have drained.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(this.#flushLater);
  }

  #onDrain(): void {
    this.#progress();
    if (this.#writer.busy) this.#writer.drained();
    else this.#flush();
    this.#updateTimer();
  }

  /** The client took bytes: a write stall is measured from here. */
  #progress(): void {
    this.#timer.extend(Wait.Write, this.#options.writeTimeout);
    this.#updateTimer();
  }

  /** The flush put off by #scheduleFlush (after this turn's microtasks) or to the end of the poll phase. */
  readonly #flushLater = (): void => this.#edge(() => {
    this.#flushScheduled = false;
    this.#flush();
  });

  atPollEnd(): void {
    this.#flushLater();
  }

  /** Writes from the head of the queue, in order, batching what is ready. */
  #flush(): void {
    if (this.#writer.busy || this.#state >= ConnState.Closed) return;
    const socket = this.#socket;
    // One reply: one write. Several ready at once: corked into one writev.
    const corked = this.#queue.length > 1;
    if (corked) socket.cork();
    while (this.#queue.length > 0) {
      const tx = this.#queue[0]!;
      if (tx.continuePending) {
        tx.continuePending = false;
        if (tx.reply === null && tx.body !== null && !this.#eof) {
          tx.continueSent = true;
          socket.write(CONTINUE);
        }
      }
      if (tx.reply === null || socket.writableNeedDrain) break;
      this.#prepare(tx);
      if (!this.#writer.write(tx)) break; // a stream body: #streamDone follows
      this.#finish(tx);
      if (tx.close) break;
    }
    if (corked) socket.uncork();
    this.#updateTimer();
  }

  /** Decides, before the head is written, whether the connection goes on after this reply. */
  #prepare(tx: Transaction): void {
    const reply = tx.reply!;
    const status = reply.status;
    const connect = tx.head?.method === 'CONNECT';
    const switches = status === 101 || (connect && status >= 200 && status < 300);
    if (switches) {
      if (tx.switching && tx.bodyDone && tx.failed === null && reply.tunnel !== undefined && this.#read === Read.Hold) {
        tx.tunnel = true;
        return;
      }
      // A switch with nothing to switch to, or not asked for: never sent. Its
      // signal fires, so what the handler holds for the tunnel (an upstream socket) is let go.
      destroyBody(reply);
      const err = new HttpError('WWW_ERR_INTERNAL', 'a protocol switch without a tunnel');
      this.#server.events.onError?.(err);
      tx.reply = tx.request === null ? errorReply(err) : this.#errorFor(tx.request, err);
      tx.request?.abort(err);
    }
    // Replying before the body was read: drop a small rest, else close (RFC 9112 §9.6).
    if (!tx.bodyDone && tx.failed === null) {
      this.#discardArrived(tx);
      if (!tx.bodyDone && tx.failed === null && !(tx.discarding && tx.head!.bodyLength > 0) && !this.#mayDiscard(tx)) tx.close = true;
    }
    // Closing, or the server stopping: the last reply queued says so, and no head is parsed after it.
    if ((this.#state !== ConnState.Open || this.#stopping) && this.#queue.length === 1) {
      tx.close = true;
      if (this.#state === ConnState.Open) this.#state = ConnState.Closing;
    }
  }

  #streamDone(tx: Transaction, err: unknown): void {
    if (this.#state >= ConnState.Closed) return;
    if (err !== null) {
      this.#server.events.onError?.(err);
      // The reply was cut short: nothing more is written, and the connection
      // closes in stages (#end), unless the writer had to reset it ('close'
      // then tears it down).
      if (!this.#socket.destroyed) this.#end();
      return;
    }
    this.#finish(tx);
    this.#flush();
  }

  /** A reply has been written: the next transaction may write. */
  #finish(tx: Transaction): void {
    this.#queue.shift();
    if (tx.tunnel) return this.#handOver(tx);
    if (this.#read === Read.Hold && this.#current === tx) {
      // The protocol stays HTTP: what waited is parsed as requests (a CONNECT refused closes below).
      this.#read = this.#state === ConnState.Open ? Read.Head : Read.Stopped;
      if (this.#read === Read.Stopped) this.#pending = null;
    }
    if (!tx.bodyDone && tx.failed === null && !tx.discarding) {
      // Answered with its body unread or half read: the consumer is done with it.
      const body = tx.body;
      if (body !== null) {
        tx.body = null;
        tx.wanted = false;
        body.destroy();
      }
      if (!tx.close && this.#reading === tx && this.#mayDiscard(tx)) tx.discarding = true;
      else tx.close = true;
    }
    if (tx.close) {
      this.#noMoreRequests();
      this.#end();
      return;
    }
    if (this.#read !== Read.Stopped) this.#pump();
    else if (this.#queue.length === 0) this.#end();
  }

  /**
   * The reply said the connection is now a tunnel: the socket and every
   * byte read after the request go to it, and this connection is over for
   * the server (its timer, listeners and parser gone).
   */
  #handOver(tx: Transaction): void {
    const socket = this.#socket;
    const pending = this.#pending;
    const rest = pending === null ? Buffer.alloc(0) : pending.subarray(this.#pendingOffset);
    this.#pending = null;
    this.#read = Read.Stopped;
    this.#state = ConnState.Closed;
    this.#timer.stop();
    for (const [event, listener] of this.#listeners) socket.off(event, listener);
    this.#queue.length = 0;
    this.#server.forget(this);
    this.#server.tunnelled(socket);
    this.#maybeDead();
    tx.reply!.tunnel!(socket, rest);
  }

  /** Sends our FIN; then reads and drops what the client still sends, until its FIN or the linger timeout. */
  #end(): void {
    if (this.#state >= ConnState.Closed || this.#endSent) return;
    this.#endSent = true;
    this.#state = ConnState.Closing;
    this.#stopReading();
    // What is still queued (behind a reply cut short) is never answered; no more of its body is read.
    this.#dropQueue(new HttpError('WWW_ERR_REQ_ABORTED'));
    // Lingering close (as nginx does): the kernel resets a connection closed
    // with unread bytes, and the reset can destroy the reply before the client
    // reads it; reading on until the client's FIN avoids that.
    this.#socket.end();
    this.#flow();
    this.#updateTimer();
  }

  // --- timeouts --------------------------------------------------------------

  /** Picks the timeout that applies to what the connection is waiting for. */
  #updateTimer(): void {
    if (this.#state >= ConnState.Closed) return;
    const o = this.#options;
    const timer = this.#timer;
    const reading = this.#reading;
    if (this.#socket.writableNeedDrain) {
      if (timer.kind !== Wait.Write) timer.set(Wait.Write, o.writeTimeout);
    } else if (this.#endSent) {
      if (timer.kind !== Wait.Linger) timer.set(Wait.Linger, o.lingerTimeout);
    } else if (reading !== null && (reading.wanted || reading.discarding)) {
      if (timer.kind !== Wait.Body) timer.set(Wait.Body, o.bodyTimeout);
    } else if (this.#read === Read.Head && this.#queue.length === 0 && this.#parser.idle && this.#pending === null) {
      if (timer.kind !== Wait.KeepAlive) timer.set(Wait.KeepAlive, o.keepAliveTimeout);
    } else if (this.#read === Read.Head && this.#queue.length === 0 && this.#parser.inHead) {
      // The deadline runs from the head's first byte; trickling bytes do not extend it.
      if (timer.kind !== Wait.Header) timer.set(Wait.Header, o.headerTimeout);
    } else {
      timer.idle();
    }
  }

  /** The shortest timeout in force (0 is none). */
  #period(): number {
    const o = this.#options;
    let period = o.lingerTimeout > 0 ? o.lingerTimeout : 60_000;
    for (const t of [o.headerTimeout, o.keepAliveTimeout, o.bodyTimeout, o.writeTimeout]) if (t > 0 && t < period) period = t;
    return Math.max(1, period);
  }

  #onTimeout(kind: Wait): void {
    if (this.#state >= ConnState.Closed) return;
    switch (kind) {
      case Wait.KeepAlive:
      case Wait.Write:
      case Wait.Linger:
        this.#socket.destroy();
        return;
      case Wait.Header:
      case Wait.Body: {
        const err = new HttpError('WWW_ERR_REQ_TIMEOUT', kind === Wait.Header ? 'header' : 'body');
        this.#server.events.onError?.(err);
        const reading = this.#reading;
        if (reading !== null) {
          this.#failBody(reading, err);
          return;
        }
        // RFC 9110 §15.5.9: 408 then close.
        this.#answer(err);
        return;
      }
    }
  }
}

function destroyBody(reply: Reply | null): void {
  const body = reply?.body;
  if (body != null && !Buffer.isBuffer(body)) body.destroy();
}
