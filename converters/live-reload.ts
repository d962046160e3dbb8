// The live-reload filter of `--live`: text/html → text/html, the page with a
// small script added before its `</body>` (at the end when it has none).
// libwww counterpart: none; it is a converter like any other, so the stream
// stack decides where it may run (src/stack.ts: never into a 206, into a
// gzip/br sidecar only decoded, never into a coding it cannot decode, not
// under no-transform; Content-Length, Vary and a weak ETag of its own follow
// from that). Registered only with `--live`.
//
// The script opens an EventSource on the reserved path (src/live.ts). A
// `change` event carries the root-relative paths that changed: when all are
// stylesheets, the matching `<link rel=stylesheet>` are swapped for copies
// with a cache-busting query (no reload, the page keeps its state); anything
// else reloads the page. After the server restarts, the reconnection reloads
// the page too, since anything may have changed meanwhile. The EventSource is
// `window.streamstackLive`: a page (or a test) may close it.

import { Transform, type TransformCallback } from 'node:stream';
import type { Converter } from '../src/converter.js';

/** The reserved path of the event stream; nothing else ever answers there. */
export const LIVE_PATH = '/.streamstack/live';

const SCRIPT = `(() => {
  const es = new EventSource(${JSON.stringify(LIVE_PATH)});
  window.streamstackLive = es;
  let opened = false;
  es.addEventListener('open', () => { if (opened) location.reload(); opened = true; });
  es.addEventListener('change', (e) => {
    let paths = [];
    try { paths = JSON.parse(e.data); } catch {}
    if (paths.length === 0 || !paths.every((p) => /\\.css$/i.test(p))) { location.reload(); return; }
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')];
    const pathOf = (l) => { try { return decodeURIComponent(new URL(l.href).pathname); } catch { return ''; } };
    const named = links.filter((l) => paths.some((p) => pathOf(l).endsWith('/' + p)));
    const base = links.filter((l) => paths.some((p) => pathOf(l).endsWith('/' + p.slice(p.lastIndexOf('/') + 1))));
    for (const old of named.length > 0 ? named : base.length > 0 ? base : links) {
      const url = new URL(old.href);
      url.searchParams.set('streamstack-live', String(Date.now()));
      const fresh = old.cloneNode();
      fresh.href = url.href;
      fresh.addEventListener('load', () => old.remove(), { once: true });
      fresh.addEventListener('error', () => old.remove(), { once: true });
      old.after(fresh);
    }
  });
})();`;

/** What is added to a page. */
export const LIVE_SNIPPET = Buffer.from(`<script data-streamstack-live>${SCRIPT}</script>\n`, 'utf8');

const NEEDLE = Buffer.from('</body', 'latin1');

/** The first `</body` (any case) in `buf`, or -1. */
function findBodyEnd(buf: Buffer): number {
  for (let i = buf.indexOf(0x3c); i !== -1 && i + NEEDLE.length <= buf.length; i = buf.indexOf(0x3c, i + 1)) {
    let j = 1;
    while (j < NEEDLE.length && (buf[i + j]! | (j > 1 ? 0x20 : 0)) === NEEDLE[j]) j++;
    if (j === NEEDLE.length) return i;
  }
  return -1;
}

/** A UTF-16 or UTF-32 byte order mark: the page is not ASCII-compatible, and is left alone. */
function wideBom(buf: Buffer): boolean {
  return buf.length >= 2 && ((buf[0] === 0xfe && buf[1] === 0xff) || (buf[0] === 0xff && buf[1] === 0xfe));
}

export class LiveReloadInjector extends Transform {
  /** Injected, or never to be: the rest passes through. */
  #done = false;
  #started = false;
  /** Bytes held back: a `</body` may begin in one chunk and end in the next (at most 5 bytes). */
  #tail: Buffer | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#done) return callback(null, chunk);
    const buf = this.#tail === null ? chunk : Buffer.concat([this.#tail, chunk]);
    this.#tail = null;
    if (!this.#started) {
      if (buf.length < 2) {
        this.#tail = Buffer.from(buf);
        return callback();
      }
      this.#started = true;
      if (wideBom(buf)) {
        this.#done = true;
        return callback(null, buf);
      }
    }
    const at = findBodyEnd(buf);
    if (at !== -1) {
      this.#done = true;
      if (at > 0) this.push(buf.subarray(0, at));
      this.push(LIVE_SNIPPET);
      return callback(null, buf.subarray(at));
    }
    // Hold back from a '<' in the last five bytes: it may start `</body`.
    const lt = buf.lastIndexOf(0x3c);
    const keep = lt !== -1 && lt > buf.length - NEEDLE.length ? buf.length - lt : 0;
    if (keep > 0) this.#tail = Buffer.from(buf.subarray(buf.length - keep));
    callback(null, keep > 0 ? buf.subarray(0, buf.length - keep) : buf);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#tail !== null) this.push(this.#tail);
    if (!this.#done && !(this.#tail !== null && wideBom(this.#tail))) this.push(LIVE_SNIPPET);
    callback();
  }
}

export const liveReload: Converter = {
  from: 'text/html',
  to: 'text/html',
  quality: 1,
  create: () => new LiveReloadInjector(),
};
