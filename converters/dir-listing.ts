// Directory listings: www/dir → text/html and www/dir → application/json
// (libwww HTDirBrw / the CERN server's directory browsing).
//
// Input contract: the FILE module replies with the format
// `makeFormat('www/dir', { path, upload })`, where `path` is the directory's
// URL path as the rules saw it (percent-decoded once, ending in '/') and
// `upload` is 'post' where the rules let POST store files there, and a body
// that is a Readable in object mode yielding DirEntry objects. Entries are
// listed directories first, then by name (natural order), or for the HTML
// page by the request's `?sort=name|size|date&order=asc|desc`; at most
// MAX_ENTRIES are kept for sorting, the rest are counted and reported. The
// page's stylesheet, icons and script are converters/dir-listing-page.ts,
// the orders converters/dir-listing-sort.ts. The rendering depends on the
// request (its query) and on the format's `upload`, never on the anchor, so
// a cached or shared source still renders right for each request.
//
// Output: a Duplex whose readable side renders rows only as fast as the
// consumer reads them (_read pulls the next batch), so a huge listing never
// sits rendered in memory.

import { Duplex } from 'node:stream';
import type { Converter } from '../src/converter.js';
import { icon, iconOf, SCRIPT, STYLE, SYMBOLS } from './dir-listing-page.js';
import { comparator, DEFAULT_SORT, FIRST_ORDER, parseSort, type Sort, type SortKey, type SortOrder } from './dir-listing-sort.js';

/** The form field that asks the upload to send a browser back to the listing (303). */
export const RETURN_FIELD = 'return';
export const RETURN_LISTING = 'listing';

export interface DirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

export const MAX_ENTRIES = 100_000;
const BATCH = 16 * 1024;

export type Render = (path: string, entries: readonly DirEntry[], omitted: number) => Iterator<string>;

function isEntry(value: unknown): value is DirEntry {
  const e = value as Partial<DirEntry> | null;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && e.name !== ''
    && typeof e.isDirectory === 'boolean';
}

export class DirListing extends Duplex {
  #path: string;
  #render: Render;
  #compare: (a: DirEntry, b: DirEntry) => number;
  #entries: DirEntry[] = [];
  #omitted = 0;
  #rows: Iterator<string> | null = null;
  #wanted = false;

  constructor(path: string, render: Render, sort: Sort = DEFAULT_SORT) {
    super({ writableObjectMode: true, writableHighWaterMark: 256 });
    this.#path = path;
    this.#render = render;
    this.#compare = comparator(sort);
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
    this.#entries.sort(this.#compare);
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
  // 1023.7 KiB would round to "1024 KiB": such a value is shown as 1.0 MiB.
  while (value >= 1023.5 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function isoDate(mtimeMs: number): string {
  return Number.isFinite(mtimeMs) ? new Date(mtimeMs).toISOString() : '';
}

const LABELS: Readonly<Record<SortKey, string>> = { name: 'Name', size: 'Size', date: 'Modified' };
const ORDER_WORDS: Readonly<Record<SortKey, Readonly<Record<SortOrder, string>>>> = {
  name: { asc: 'A to Z', desc: 'Z to A' },
  size: { asc: 'smallest first', desc: 'largest first' },
  date: { asc: 'oldest first', desc: 'newest first' },
};

/**
 * Each ancestor is reached by '../' steps, never by re-encoding the path.
 * WAI-ARIA Authoring Practices, Breadcrumb pattern: a labelled nav, an
 * ordered list, `aria-current="page"` on the last link.
 */
function breadcrumbs(path: string): string {
  const segments = path.split('/').filter((s) => s !== '');
  const last = segments.length === 0 ? ' aria-current="page"' : '';
  let out = `<nav aria-label="Breadcrumb"><ol class="crumbs"><li><a href="${'../'.repeat(segments.length) || './'}" aria-label="Root"${last}>/</a></li>`;
  segments.forEach((segment, i) => {
    const up = segments.length - 1 - i;
    out += `<li><a href="${up === 0 ? './' : '../'.repeat(up)}"${up === 0 ? ' aria-current="page"' : ''}>${escapeHtml(segment)}</a></li>`;
  });
  return out + '</ol></nav>';
}

/**
 * A column header: a link to the rendering sorted by it (its first order,
 * or the other order when it is the active one), `aria-sort` on the active
 * one (WAI-ARIA 1.2 §6.7 aria-sort). The href is a query alone, so it keeps
 * the page's path as it is.
 */
function columnHeader(key: SortKey, sort: Sort): string {
  const active = sort.key === key;
  const order = active ? (sort.order === 'asc' ? 'desc' : 'asc') : FIRST_ORDER[key];
  const state = active ? ` aria-sort="${sort.order === 'asc' ? 'ascending' : 'descending'}"` : '';
  return `<th scope="col" class="${key}"${state}><a href="?sort=${key}&amp;order=${order}">${LABELS[key]}</a></th>`;
}

/**
 * The upload form: a plain multipart POST to this very URL, which works
 * without the script (the hidden field asks the upload for a 303 back here);
 * the script takes it over for progress bars and drag and drop.
 */
const UPLOAD_FORM = '<form id="upload" class="upload" method="post" enctype="multipart/form-data">'
  + `<input type="hidden" name="${RETURN_FIELD}" value="${RETURN_LISTING}">`
  + '<label for="files">Upload files</label><input id="files" type="file" name="file" multiple required>'
  + '<button type="submit">Upload</button><span id="drop-hint" class="hint" hidden>or drop files anywhere on this page</span>'
  + '</form>\n<ul id="uploads" class="uploads"></ul>\n<p id="upload-status" class="sr" role="status"></p>\n';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function renderHtml(sort: Sort, upload: boolean): Render {
  return function* (path, entries, omitted) {
    const title = escapeHtml(`Index of ${path}`);
    let dirs = 0;
    for (const entry of entries) if (entry.isDirectory) dirs++;
    const summary = `${plural(dirs, 'directory', 'directories')}, ${plural(entries.length - dirs, 'file', 'files')}`
      + `, sorted by ${LABELS[sort.key].toLowerCase()}, ${ORDER_WORDS[sort.key][sort.order]}`;
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
      + `<meta name="color-scheme" content="light dark">\n<link rel="icon" href="data:,">\n<title>${title}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${SYMBOLS}\n`
      + `<header>\n${breadcrumbs(path)}\n<h1>${title}</h1>\n</header>\n<main>\n${upload ? UPLOAD_FORM : ''}`
      + `<table id="listing">\n<caption>${escapeHtml(summary)}</caption>\n`
      + `<thead><tr>${columnHeader('name', sort)}${columnHeader('size', sort)}${columnHeader('date', sort)}</tr></thead>\n<tbody>\n`;
    if (path !== '/' && path !== '') {
      yield `<tr class="dir parent"><td class="name"><a href="../">${icon('up')}Parent directory</a></td><td class="size"></td><td class="date"></td></tr>\n`;
    }
    for (const entry of entries) {
      const name = escapeHtml(entry.name) + (entry.isDirectory ? '/' : '');
      const iso = isoDate(entry.mtimeMs);
      const size = entry.isDirectory || !Number.isFinite(entry.size)
        ? '<td class="size"><span aria-hidden="true">—</span></td>'
        : `<td class="size" data-bytes="${entry.size}" title="${entry.size} bytes">${humanSize(entry.size)}</td>`;
      yield `<tr${entry.isDirectory ? ' class="dir"' : ''}><td class="name"><a href="${escapeHtml(entryHref(entry))}">${icon(iconOf(entry.name, entry.isDirectory))}${name}</a></td>`
        + `${size}<td class="date"><time datetime="${iso}">${iso.slice(0, 19)}${iso === '' ? '' : 'Z'}</time></td></tr>\n`;
    }
    yield '</tbody>\n';
    if (omitted > 0) yield `<tfoot><tr><td colspan="3" class="note">${omitted} more entries not listed.</td></tr></tfoot>\n`;
    yield `</table>\n</main>\n<script>${SCRIPT}</script>\n</body>\n</html>\n`;
  };
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
  create: ({ from, request }) => {
    const sort = parseSort(request?.query);
    return new DirListing(from.params.path ?? '/', renderHtml(sort, from.params.upload === 'post'), sort);
  },
};

/** Slightly below HTML, so that `Accept: *\/*` gets the page and `application/json` the array. */
export const dirToJson: Converter = {
  from: 'www/dir',
  to: 'application/json',
  quality: 0.9,
  create: ({ from }) => new DirListing(from.params.path ?? '/', renderJson),
};
