// Directory listings: www/dir → text/html and www/dir → application/json
// (libwww HTDirBrw / the CERN server's directory browsing).
//
// Input contract: the FILE module replies with the format
// `makeFormat('www/dir', { path })`, where `path` is the directory's URL path
// as the rules saw it (percent-decoded once, ending in '/'), and a body that
// is a Readable in object mode yielding DirEntry objects. Entries are listed
// directories first, then by name (natural order); at most MAX_ENTRIES are
// kept for sorting, the rest are counted and reported.
//
// Output: a Duplex whose readable side renders rows only as fast as the
// consumer reads them (_read pulls the next batch), so a huge listing never
// sits rendered in memory.

import { Duplex } from 'node:stream';
import type { Converter } from '../src/converter.js';

export interface DirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

export const MAX_ENTRIES = 100_000;
const BATCH = 16 * 1024;

type Render = (path: string, entries: readonly DirEntry[], omitted: number) => Iterator<string>;

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function compareEntries(a: DirEntry, b: DirEntry): number {
  if (a.isDirectory !== b.isDirectory) return a.isDirectory ? -1 : 1;
  return collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function isEntry(value: unknown): value is DirEntry {
  const e = value as Partial<DirEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && e.name !== ''
    && typeof e.isDirectory === 'boolean';
}

export class DirListing extends Duplex {
  #path: string;
  #render: Render;
  #entries: DirEntry[] = [];
  #omitted = 0;
  #rows: Iterator<string> | null = null;
  #wanted = false;

  constructor(path: string, render: Render) {
    super({ writableObjectMode: true, writableHighWaterMark: 256 });
    this.#path = path;
    this.#render = render;
  }

  override _write(entry: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!isEntry(entry)) {
      callback(new TypeError('www/dir: a directory entry needs a name and isDirectory'));
      return;
    }
    if (this.#entries.length < MAX_ENTRIES) this.#entries.push(entry);
    else this.#omitted++;
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#entries.sort(compareEntries);
    this.#rows = this.#render(this.#path, this.#entries, this.#omitted);
    callback();
    if (this.#wanted) this.#pump();
  }

  override _read(): void {
    if (this.#rows === null) this.#wanted = true;
    else this.#pump();
  }

  /** Renders batches until the consumer's buffer is full or the listing ends. */
  #pump(): void {
    const rows = this.#rows!;
    let batch = '';
    for (;;) {
      const next = rows.next();
      if (next.done) {
        if (batch !== '') this.push(Buffer.from(batch, 'utf8'));
        this.push(null);
        this.#entries = [];
        return;
      }
      batch += next.value;
      if (batch.length >= BATCH) {
        const more = this.push(Buffer.from(batch, 'utf8'));
        batch = '';
        if (!more) return;
      }
    }
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * An href for a name, percent-encoded exactly once. The './' keeps a name
 * such as `a:b` from reading as a scheme (RFC 3986 §4.2); lone surrogates
 * (which encodeURIComponent rejects) become U+FFFD.
 */
export function entryHref(entry: DirEntry): string {
  const wellFormed = entry.name.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return './' + encodeURIComponent(wellFormed) + (entry.isDirectory ? '/' : '');
}

function humanSize(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function isoDate(mtimeMs: number): string {
  return Number.isFinite(mtimeMs) ? new Date(mtimeMs).toISOString() : '';
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222;background:#fff}
h1{font-size:1.3rem;font-weight:600;word-break:break-all}h1 a{color:inherit}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .6rem;text-align:left;white-space:nowrap}
th{border-bottom:2px solid #ddd;font-weight:600}tbody tr:nth-child(even){background:#f6f8fa}
td.name{white-space:normal;word-break:break-all;width:100%}td.size{text-align:right;font-variant-numeric:tabular-nums}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}tr.dir a{font-weight:600}
p.note{color:#666}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}th{border-color:#333}tbody tr:nth-child(even){background:#1b1f24}a{color:#6cb6ff}}`;

/** The heading's links: each ancestor is reached by '../' steps, never by re-encoding the path. */
function breadcrumbs(path: string): string {
  const segments = path.split('/').filter((s) => s !== '');
  let out = `<a href="${'../'.repeat(segments.length) || './'}">/</a>`;
  segments.forEach((segment, i) => {
    const up = segments.length - 1 - i;
    out += `<a href="${up === 0 ? './' : '../'.repeat(up)}">${escapeHtml(segment)}/</a>`;
  });
  return out;
}

function* renderHtml(path: string, entries: readonly DirEntry[], omitted: number): Iterator<string> {
  const title = escapeHtml(`Index of ${path}`);
  yield `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n`
    + `<title>${title}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n<h1>Index of ${breadcrumbs(path)}</h1>\n`
    + `<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>\n<tbody>\n`;
  if (path !== '/' && path !== '') yield `<tr class="dir parent"><td class="name"><a href="../">../</a></td><td class="size"></td><td></td></tr>\n`;
  for (const entry of entries) {
    const name = escapeHtml(entry.name) + (entry.isDirectory ? '/' : '');
    const iso = isoDate(entry.mtimeMs);
    const size = entry.isDirectory ? '—' : `<span title="${entry.size} bytes">${humanSize(entry.size)}</span>`;
    yield `<tr${entry.isDirectory ? ' class="dir"' : ''}><td class="name"><a href="${escapeHtml(entryHref(entry))}">${name}</a></td>`
      + `<td class="size">${size}</td><td><time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time></td></tr>\n`;
  }
  yield '</tbody>\n</table>\n';
  if (omitted > 0) yield `<p class="note">${omitted} more entries not listed.</p>\n`;
  yield '</body>\n</html>\n';
}

function* renderJson(_path: string, entries: readonly DirEntry[]): Iterator<string> {
  yield '[';
  let first = true;
  for (const entry of entries) {
    const item = { name: entry.name, isDirectory: entry.isDirectory, size: entry.size, mtime: isoDate(entry.mtimeMs) };
    yield (first ? '' : ',') + JSON.stringify(item);
    first = false;
  }
  yield ']\n';
}

export const dirToHtml: Converter = {
  from: 'www/dir',
  to: 'text/html; charset=utf-8',
  quality: 1,
  create: ({ from }) => new DirListing(from.params.path ?? '/', renderHtml),
};

/** Slightly below HTML, so that `Accept: *\/*` gets the page and `application/json` the array. */
export const dirToJson: Converter = {
  from: 'www/dir',
  to: 'application/json',
  quality: 0.9,
  create: ({ from }) => new DirListing(from.params.path ?? '/', renderJson),
};
