// Directories in the FILE module. libwww counterpart: HTDirBrw (the
// directory browser) and HTFile's Welcome handling in the CERN server.
// A directory without its trailing slash is redirected to it (308: relative
// links in the page need the slash); with it, the first Welcome file that
// exists is served; otherwise the listing, where DirAccess allows it, as an
// object-mode stream of DirEntry in format `www/dir` (the converter in
// converters/dir-listing.ts renders HTML or JSON per Accept, with an upload
// form where the rules enable POST on the path); else 403.

import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { DirEntry } from '../converters/dir-listing.js';
import { HttpError, fromOsError } from '../src/errors.js';
import { makeFormat } from '../src/format.js';
import { allowedMethods } from '../src/net.js';
import type { Reply } from '../src/reply.js';
import { textReply } from '../src/reply.js';
import type { Request } from '../src/request.js';
import { isInsideRoot } from '../src/rules/index.js';
import { FILE_METHODS, type FileConfig } from './file-options.js';
import type { LocalName, RealRoots } from './file-path.js';
import { isDotName } from './file-path.js';
import type { Dir, Stats } from 'node:fs';

/** What the directory code needs from the FILE module. */
export interface DirContext {
  readonly config: FileConfig;
  readonly roots: RealRoots;
  /** Serves an opened regular file (a Welcome file) as if it had been asked for. */
  serveFile(request: Request, name: LocalName, real: string, handle: FileHandle, stat: Stats): Promise<Reply>;
  /** Opens a real path for reading and fstats it; the caller closes. */
  open(real: string): Promise<{ handle: FileHandle; stat: Stats }>;
}

// RFC 3986 §3.3: what a path segment may hold as it is; the rest is %-encoded.
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** A decoded path back into URL text, each byte outside pchar and '/' encoded once. */
export function encodePath(decoded: string): string {
  let out = '';
  for (const ch of decoded) out += PCHAR.test(ch) ? ch : encodeURIComponent(ch).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return out;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export async function directory(ctx: DirContext, request: Request, name: LocalName, real: string): Promise<Reply> {
  const rules = request.rules;
  const decoded = request.decodedPath ?? '/';
  // The URL the client sees decides, not the address a Map made of it.
  const slash = decoded.endsWith('/');
  if (!slash && !rules?.alwaysWelcome) return toSlash(request, decoded);
  const realRoot = await ctx.roots.get(name.root);
  for (const welcome of rules?.welcome ?? ['index.html']) {
    const candidate = path.join(real, welcome);
    let target: string;
    let opened: { handle: FileHandle; stat: Stats };
    try {
      target = await ctx.config.fs.realpath(candidate);
      if (!isInsideRoot(target, realRoot)) continue;
      opened = await ctx.open(target);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') continue;
      throw fromOsError(err);
    }
    if (opened.stat.isFile()) {
      return ctx.serveFile(request, { file: path.join(name.file, welcome), root: name.root, slash: false }, target, opened.handle, opened.stat);
    }
    await opened.handle.close();
  }
  // AlwaysWelcome without a Welcome file: a listing needs the slash for its links.
  if (!slash) return toSlash(request, decoded);
  if (!(await listable(ctx, rules?.dirAccess ?? 'off', real))) {
    throw new HttpError('WWW_ERR_FILE_FORBIDDEN', 'directory listing not allowed');
  }
  // The listing offers its upload form where a POST here would be accepted:
  // the same Allow list a 405 or OPTIONS gives for this path (src/net.ts).
  const upload = allowedMethods(rules, decoded, FILE_METHODS).includes('POST');
  const format = makeFormat('www/dir', upload ? { path: decoded, upload: 'post' } : { path: decoded });
  // Opened now, so that a directory we may not read is a 403 and not a broken body.
  const dir = await ctx.config.fs.opendir(real, { bufferSize: 64 }).catch((err: unknown) => {
    throw fromOsError(err);
  });
  if (request.method === 'HEAD') {
    await dir.close().catch(() => {});
    return { status: 200, headers: {}, format, length: -1, body: null };
  }
  const body = Readable.from(entries(ctx, dir, real, realRoot), { objectMode: true, highWaterMark: 64 });
  // A body destroyed before its first read never runs the generator: close the Dir here too.
  body.once('close', () => void dir.close().catch(() => {}));
  if (request.aborted) body.destroy();
  else {
    const signal = request.signal;
    const onAbort = (): void => void body.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return { status: 200, headers: {}, format, length: -1, body };
}

/**
 * 308 keeps the method (RFC 9110 §15.4.9); `no-cache` so a browser does not
 * keep the redirect forever should the directory become a file.
 */
function toSlash(request: Request, decoded: string): Reply {
  const location = encodePath(decoded + '/') + request.query;
  return textReply(308, `Moved to ${location}`, { Location: location, 'Cache-Control': 'no-cache' });
}

/** DirAccess: On lists every directory; Selective only those holding `.www_browsable`. */
async function listable(ctx: DirContext, access: string, real: string): Promise<boolean> {
  if (access === 'on') return true;
  if (access !== 'selective') return false;
  try {
    return (await ctx.config.fs.stat(path.join(real, '.www_browsable'))).isFile();
  } catch {
    return false;
  }
}

/**
 * The entries, read as the consumer asks: dotfiles per the policy, and no
 * symlink whose target leaves the root (it would 404 anyway). An entry that
 * vanishes or cannot be stat'ed is left out.
 */
async function* entries(ctx: DirContext, dir: Dir, real: string, realRoot: string): AsyncGenerator<DirEntry> {
  const fs = ctx.config.fs;
  const deny = ctx.config.dotfiles === 'deny';
  // for-await closes the Dir when the loop ends, throws or is returned from.
  for await (const d of dir) {
    if (deny && isDotName(d.name)) continue;
    const full = path.join(real, d.name);
    let st: Stats;
    try {
      if (d.isSymbolicLink()) {
        const target = await fs.realpath(full);
        if (!isInsideRoot(target, realRoot)) continue;
        st = await fs.stat(target);
      } else {
        st = await fs.stat(full);
      }
    } catch {
      continue;
    }
    if (!st.isFile() && !st.isDirectory()) continue;
    yield { name: d.name, isDirectory: st.isDirectory(), size: st.size, mtimeMs: st.mtimeMs };
  }
}
