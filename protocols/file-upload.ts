// Uploads in the FILE module: POST multipart/form-data to a directory stores
// each file part (RFC 7578) under a sanitised name. libwww counterpart: none
// (HTFile saved what a client fetched); the parts come from the converter
// issue's busboy parser (converters/multipart.ts), each written like a PUT:
// a temporary file, fsync, then link(2) to a name that does not exist yet, so
// nothing is ever overwritten (`name (1).txt` is picked instead) unless the
// `overwriteUploads` option says so. All or nothing: when any part fails
// (413, a client gone, ENOSPC), the files already stored by this request are
// removed too. The answer is 201 with what was stored, JSON or HTML by Accept;
// a browser's post of the listing's own form (it carries the field
// `return=listing`) is sent back to the listing with 303 instead.
//
// Sidecars: the FILE module serves `x.gz` / `x.br` to clients that accept
// the coding in place of `x` (file-variants.ts). A client that may upload but
// not overwrite must never change the bytes served for a document it could
// not overwrite, so an upload never makes a document/sidecar pair with a name
// already there: it takes a name only when the name itself, its sidecars
// (`name.gz`, `name.br`) and, for a name ending in a sidecar suffix, the
// document it would stand for (`report.txt` for `report.txt.gz`) are all free
// and no PUT is writing that document; else `report (1).txt.gz`. Both orders
// are covered: `report.txt.gz` beside an existing `report.txt`, and
// `report.txt` beside an earlier upload's `report.txt.gz` (which the sidecar
// rule "not older than its document" would only reject by its timestamp, and
// timestamps are coarse). The check and the link run under the path lock of
// that document, the lock a PUT of it commits under. Left to the timestamp
// rule: a document placed later by other means (a PUT, a deploy) beside an
// uploaded sidecar, which is then served only if it is not older. With
// `overwriteUploads` an uploader may replace the document itself, so names
// are taken as they come.

import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { parseMultipart, type MultipartField, type MultipartLimits } from '../converters/multipart.js';
import { HttpError } from '../src/errors.js';
import { allowedMethods } from '../src/net.js';
import { makeFormat } from '../src/format.js';
import { qualityOfType } from '../src/negotiate.js';
import { textReply, type Reply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import { escapeHtml, RETURN_FIELD, RETURN_LISTING } from '../converters/dir-listing.js';
import { parseSort, sortQuery } from '../converters/dir-listing-sort.js';
import { encodePath } from './file-dir.js';
import { FILE_METHODS } from './file-options.js';
import { confine, localName } from './file-path.js';
import type { WriteContext } from './file-write.js';
import { linkNew, syncDir, writeTemp } from './file-write.js';
import { SIDECARS } from './file-variants.js';

export interface Stored {
  readonly field: string;
  readonly name: string;
  readonly size: number;
  readonly type: string;
  readonly href: string;
}

// C0 and C1 controls, DEL, and the bidirectional overrides that make
// "txt.exe" read as "exe.txt" (CVE-2021-42574's trick).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MAX_NAME_BYTES = 200;

/**
 * A client's file name made safe to store: its last path component (some
 * clients send `C:\dir\a.txt`), no control characters, no leading dots (no
 * dotfiles, no `..`), no trailing dots or spaces, at most 200 bytes of UTF-8
 * with the extension kept; `upload` when nothing is left.
 */
export function sanitizeName(raw: string): string {
  let name = raw.slice(Math.max(raw.lastIndexOf('/'), raw.lastIndexOf('\\')) + 1);
  name = name.normalize('NFC').replace(UNSAFE, '').replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (name === '') return 'upload';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    const ext = path.extname(name).slice(0, 16);
    let stem = name.slice(0, name.length - ext.length);
    while (Buffer.byteLength(stem + ext) > MAX_NAME_BYTES) stem = stem.slice(0, -1);
    name = stem.replace(/[\uD800-\uDBFF]$/, '') + ext;
  }
  return name;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * busboy reads a plain `filename="…"` as latin1 (its defParamCharset), but
 * browsers send the name's UTF-8 bytes there (RFC 7578 §4.2 leaves it to
 * them): a name whose characters are all bytes and which decodes as UTF-8 is
 * taken as UTF-8. A true latin1 name (`caf\xe9`) is not valid UTF-8 and stays.
 */
export function fromWire(name: string): string {
  if (!/[\x80-\xff]/.test(name) || /[^\x00-\xff]/.test(name)) return name;
  try {
    return utf8.decode(Buffer.from(name, 'latin1'));
  } catch {
    return name;
  }
}

/** The sidecar suffix `name` ends with (any case: some file systems ignore it), or ''. */
function sidecarSuffix(name: string): string {
  const lower = name.toLowerCase();
  for (const s of SIDECARS) if (lower.endsWith(s.suffix) && name.length > s.suffix.length) return name.slice(-s.suffix.length);
  return '';
}

/** `name`, then `name (1).ext`, `name (2).ext`…; a sidecar suffix counts as part of the extension (`a (1).tar.gz`). */
function candidate(name: string, n: number): string {
  if (n === 0) return name;
  const side = sidecarSuffix(name);
  const ext = path.extname(name.slice(0, name.length - side.length)) + side;
  return `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
}

/** The document a name belongs to: itself, or the one it would be a sidecar of. */
function documentOf(file: string): string {
  return file.slice(0, file.length - sidecarSuffix(path.basename(file)).length);
}

/** True when `file`, a sidecar of it, or the document it would be a sidecar of is there or being written. */
async function familyTaken(ctx: WriteContext, file: string): Promise<boolean> {
  const doc = documentOf(file);
  const names = [file, ...SIDECARS.map((s) => file + s.suffix)];
  if (doc !== file) {
    if (ctx.locks.writing(doc)) return true;
    names.push(doc);
  }
  for (const name of names) {
    // Only a name known to be absent is free.
    const free = await ctx.config.fs.lstat(name).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR');
    if (!free) return true;
  }
  return false;
}

const MAX_TRIES = 100;

export async function upload(ctx: WriteContext, request: Request): Promise<Reply> {
  const { fs, dotfiles, overwriteUploads, uploadLimits } = ctx.config;
  const name = localName(request.address!, request.root, dotfiles);
  const dir = await confine(fs, ctx.roots, name);
  if (!(await fs.stat(dir)).isDirectory()) {
    // The address's Allow list (src/net.ts), less POST: this one is a file.
    const allow = allowedMethods(request.rules, request.decodedPath, FILE_METHODS).filter((m) => m !== 'POST');
    throw new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', 'POST stores uploads in a directory', { headers: { Allow: allow.join(', ') } });
  }
  const limits: MultipartLimits = {
    parts: uploadLimits.parts ?? 100,
    files: uploadLimits.files ?? 20,
    fieldSize: uploadLimits.fieldSize ?? 64 * 1024,
    fileSize: uploadLimits.fileSize ?? request.maxBodySize,
  };
  const decoded = request.decodedPath ?? '/';
  const base = decoded.endsWith('/') ? decoded : decoded + '/';
  const stored: string[] = [];
  const inflight = new Set<Promise<unknown>>();
  // Parts upload while the previous one commits; commits go in body order, so
  // two parts named alike get `a.txt` and `a (1).txt` in the order sent.
  let commits: Promise<unknown> = Promise.resolve();

  const store = async (field: string, filename: string, type: string, stream: Readable): Promise<Stored | null> => {
    if (filename === '') return null; // an empty file input
    const wanted = sanitizeName(fromWire(filename));
    const turn = commits;
    let done!: () => void;
    commits = new Promise<void>((resolve) => (done = resolve));
    try {
      const written = await writeTemp(fs, dir, wanted, stream, limits.fileSize, request.signal);
      await turn;
      try {
        for (let n = 0; n < MAX_TRIES; n++) {
          const final = candidate(wanted, n);
          const file = path.join(dir, final);
          if (overwriteUploads) await ctx.locks.run(file, () => fs.rename(written.temp, file));
          else if (!(await ctx.locks.run(documentOf(file), async () => !(await familyTaken(ctx, file)) && linkNew(fs, null, written.temp, file)))) continue;
          stored.push(file);
          return { field, name: final, size: written.size, type, href: encodePath(base + final) };
        }
        throw new HttpError('WWW_ERR_FILE_CONFLICT', `no free name for ${wanted}`);
      } catch (err) {
        await fs.unlink(written.temp).catch(() => {});
        throw err;
      }
    } finally {
      done();
    }
  };

  let files: Stored[];
  let fields: readonly MultipartField[];
  try {
    const result = await parseMultipart(request, limits, (part) => {
      const p = store(part.name, part.filename, part.mimeType, part.stream);
      inflight.add(p);
      return p;
    });
    files = result.files.map((f) => f.result).filter((f): f is Stored => f !== null);
    fields = result.fields;
    if (files.length === 0) throw new HttpError('WWW_ERR_CONV_MULTIPART', 'no file in the upload');
  } catch (err) {
    // All or nothing: wait for parts still being written, then remove them all.
    await Promise.allSettled(inflight);
    await Promise.all(stored.map((file) => fs.unlink(file).catch(() => {})));
    throw err;
  }
  await syncDir(fs, dir);
  ctx.invalidate(request, ...stored);
  return answer(request, files, fields, base);
}

/**
 * 201 with what was stored: JSON unless the client prefers HTML (a browser's
 * form). The listing's own form, posted by a browser without the script, is
 * sent back to the listing, in the order it was sorted, with 303 (RFC 9110
 * §15.4.4: a GET of the Location follows), so that a reload does not post
 * the files again. API clients, which do not send that field, keep the 201.
 */
function answer(request: Request, files: readonly Stored[], fields: readonly MultipartField[], base: string): Reply {
  const accept = request.headers.accept;
  const json = qualityOfType(accept, 'application/json') >= qualityOfType(accept, 'text/html');
  if (!json && fields.some((f) => f.name === RETURN_FIELD && f.value === RETURN_LISTING)) {
    const location = encodePath(base) + sortQuery(parseSort(request.query));
    return textReply(303, `Stored ${files.length} file${files.length === 1 ? '' : 's'}; see ${location}`, { Location: location, Vary: 'Accept' });
  }
  const headers: Record<string, string> = { Vary: 'Accept' };
  if (files.length === 1) headers.Location = files[0]!.href;
  let text: string;
  if (json) {
    text = JSON.stringify({ files }) + '\n';
  } else {
    const rows = files.map((f) => `<li><a href="${escapeHtml(f.href)}">${escapeHtml(f.name)}</a> (${f.size} bytes, ${escapeHtml(f.type)})</li>`);
    text = `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Stored</title></head>\n<body>\n<h1>Stored ${files.length} file${files.length === 1 ? '' : 's'}</h1>\n<ul>\n${rows.join('\n')}\n</ul>\n</body>\n</html>\n`;
  }
  const body = Buffer.from(text, 'utf8');
  const format = json ? makeFormat('application/json') : makeFormat('text/html', { charset: 'utf-8' });
  return { status: 201, headers, format, length: body.length, body };
}
