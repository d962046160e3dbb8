// Test harness for the wire parser: a handler that records what the parser
// reports as messages (head, body bytes, whether it completed) and checks the
// callback order, and feeders that drive `execute()` while checking its
// contract (returned index in [offset, length], progress, silence once dead).

import { expect } from 'vitest';
import { DEFAULT_LIMITS, RequestParser } from '../../protocols/http-parser.js';
import type { ParserHandler, ParserLimits, RequestHead } from '../../protocols/http-parser.js';
import type { ErrorCode } from '../../src/errors.js';

export interface Message {
  head: RequestHead;
  /** Body bytes as latin1, concatenated over every onBody of the message. */
  body: string;
  complete: boolean;
}

export interface Outcome {
  messages: Message[];
  error: ErrorCode | null;
}

export type EventKind = 'head' | 'body' | 'complete';
/** Decides what a callback returns: false pauses the parser. */
export type Go = (kind: EventKind) => boolean;

const always: Go = () => true;

export class Recorder implements ParserHandler {
  readonly messages: Message[] = [];
  events = 0;
  readonly #go: Go;

  constructor(go: Go = always) {
    this.#go = go;
  }

  onHead(head: RequestHead): boolean {
    const last = this.messages.at(-1);
    if (last !== undefined && !last.complete) throw new Error('onHead before the previous message completed');
    this.events++;
    this.messages.push({
      head: { ...head, headers: { ...head.headers }, rawHeaders: [...head.rawHeaders] },
      body: '',
      complete: false,
    });
    return this.#go('head');
  }

  onBody(chunk: Buffer): boolean {
    const last = this.messages.at(-1);
    if (last === undefined || last.complete) throw new Error('onBody outside a message');
    if (last.head.bodyLength === 0) throw new Error('onBody for a message without a body');
    if (chunk.length === 0) throw new Error('empty onBody');
    this.events++;
    last.body += chunk.toString('latin1');
    return this.#go('body');
  }

  onComplete(): boolean {
    const last = this.messages.at(-1);
    if (last === undefined || last.complete) throw new Error('onComplete outside a message');
    if (last.head.bodyLength >= 0 && last.body.length !== last.head.bodyLength) {
      throw new Error(`body of ${last.body.length} bytes for Content-Length ${last.head.bodyLength}`);
    }
    this.events++;
    last.complete = true;
    return this.#go('complete');
  }
}

const PROBE = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1');

/**
 * Feeds `chunks` in order, each from offset 0, re-feeding the rest after a
 * pause. Checks the execute() contract on every call; once the parser has an
 * error, checks that it consumes nothing and reports nothing more.
 */
export function feed(chunks: readonly Buffer[], limits: ParserLimits = DEFAULT_LIMITS, go: Go = always): Outcome {
  const rec = new Recorder(go);
  const parser = new RequestParser(rec, limits);
  const pausing = go !== always;
  outer: for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      const n = parser.execute(chunk, off);
      if (!Number.isInteger(n) || n < off || n > chunk.length) {
        throw new Error(`execute(${chunk.length} bytes, ${off}) returned ${n}`);
      }
      if (parser.error !== null) break outer;
      // Without an error, a call either consumes everything or was paused after making progress.
      if (n !== chunk.length && (!pausing || n === off)) throw new Error(`execute stopped at ${n} of ${chunk.length} without an error`);
      off = n;
    }
  }
  if (parser.error !== null) {
    const events = rec.events;
    for (const off of [0, 3, PROBE.length]) {
      const n = parser.execute(PROBE, off);
      if (n !== off) throw new Error(`a dead parser consumed ${n - off} bytes`);
    }
    if (rec.events !== events) throw new Error('a dead parser reported events');
  }
  return { messages: rec.messages, error: parser.error };
}

export function bytes(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

/** Splits `buf` at the given offsets (any order, duplicates allowed). */
export function splitAt(buf: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((o) => Math.max(0, Math.min(buf.length, o))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/**
 * Habit 2: runs one case fed whole, split into two at every offset, and one
 * byte at a time; every feeding must give the same outcome, which is returned.
 */
export function runCase(raw: string | Buffer, limits: ParserLimits = DEFAULT_LIMITS): Outcome {
  const buf = bytes(raw);
  const whole = feed([buf], limits);
  for (let i = 1; i < buf.length; i++) {
    expect(feed(splitAt(buf, [i]), limits), `split at ${i}`).toEqual(whole);
  }
  const single: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) single.push(buf.subarray(i, i + 1));
  expect(feed(single, limits), 'one byte at a time').toEqual(whole);
  return whole;
}
