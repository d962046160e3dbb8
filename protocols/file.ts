// The FILE protocol module (libwww HTFile): documents on disk. Loads a
// `file:` address that the rules produced, confined to the directory the rule
// passed: dot-segments, encoded slashes, backslashes and symlinks cannot
// leave it. This first version answers GET and HEAD of regular files.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import mime from 'mime';
import type { NetManager, Protocol } from '../src/net.js';
import type { Request } from '../src/request.js';
import type { Reply } from '../src/reply.js';
import { errorReply } from '../src/reply.js';
import { makeFormat } from '../src/format.js';
import { HttpError, fromOsError } from '../src/errors.js';

/** What the FILE module asks of the rules in force (AddType, AddCharset…). */
export interface FileConfig {
  typeFor?(fileName: string): { type: string; encoding?: string } | undefined;
  charsetFor?(fileName: string): string | undefined;
}

const READ_METHODS = 'GET, HEAD';

export class FileProtocol implements Protocol {
  readonly scheme = 'file';
  /** realpath of each root seen, so confinement costs one lookup. */
  #roots = new Map<string, Promise<string>>();

  async load(request: Request, _net: NetManager): Promise<Reply> {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return errorReply(request.fail(new HttpError('WWW_ERR_REQ_METHOD_NOT_ALLOWED', method, { headers: { Allow: READ_METHODS } })));
    }
    const file = await this.resolve(request);
    const stat = await fsp.stat(file).catch((err: unknown) => {
      throw fromOsError(err);
    });
    if (!stat.isFile()) throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    const name = path.basename(file);
    const config = (request as { rules?: FileConfig }).rules;
    const bound = config?.typeFor?.(name);
    const type = bound?.type ?? mime.getType(name) ?? 'application/octet-stream';
    const charset = config?.charsetFor?.(name);
    const format = makeFormat(type, charset ? { charset } : undefined, bound?.encoding ? [bound.encoding] : undefined);
    const headers = { 'Last-Modified': stat.mtime.toUTCString() };
    if (method === 'HEAD') return { status: 200, headers, format, length: stat.size, body: null };
    const body = fs.createReadStream(file, { signal: request.signal, highWaterMark: 64 * 1024 });
    body.on('error', () => {}); // aborts surface through the writer
    return { status: 200, headers, format, length: stat.size, body };
  }

  /**
   * The filesystem path of the request's address, confined to its root. The
   * path arrives decoded once by the rules; it is never decoded again here.
   */
  async resolve(request: Request): Promise<string> {
    const address = request.address!;
    const root = request.root;
    let file: string;
    try {
      file = fileURLToPath(address);
    } catch {
      throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    }
    // %2F stays encoded through the rules: a segment with a slash in it names nothing here.
    if (/%2f/i.test(file) || file.includes('\\') || file.includes('\0')) throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    file = path.resolve(file);
    if (root === null) throw new HttpError('WWW_ERR_FILE_FORBIDDEN');
    const base = path.resolve(root);
    if (!inside(file, base)) throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    // Dotfiles and dot-directories below the root are not served.
    const rel = path.relative(base, file);
    if (rel !== '' && rel.split(path.sep).some((s) => s.startsWith('.'))) throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    // Symlinks are followed only while their target stays inside the root.
    const [realRoot, real] = await Promise.all([this.#realRoot(base), fsp.realpath(file).catch((err: unknown) => {
      throw fromOsError(err);
    })]);
    if (!inside(real, realRoot)) throw new HttpError('WWW_ERR_FILE_NOT_FOUND');
    return real;
  }

  #realRoot(root: string): Promise<string> {
    let real = this.#roots.get(root);
    if (real === undefined) {
      real = fsp.realpath(root).catch(() => root);
      this.#roots.set(root, real);
    }
    return real;
  }

  /** Forget cached roots (restart). */
  flush(): void {
    this.#roots.clear();
  }
}

function inside(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
