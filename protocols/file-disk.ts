// Reading files from disk for the FILE module (libwww HTFile's HTFileOpen
// and the stream it fed): open + fstat so that what is read is what was
// stat'ed, a small file whole into one Buffer for the memory cache, a big
// one streamed from its handle (pooled 64 KiB reads, start/end for ranges), each
// stream destroyed when the client goes away. And the sidecar test of HTMulti.

import * as nodeFs from 'node:fs';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Request } from '../src/request.js';
import type { Representation } from './file-cache.js';
import type { FileSystem } from './file-options.js';
import { strongETag } from './file-options.js';
import type { Source } from './file-send.js';
import type { Binding, SidecarCoding } from './file-variants.js';
import { FileStream } from './file-stream.js';

/** O_NONBLOCK: opening a FIFO someone left in the tree never blocks (nginx does the same). */
const READ_FLAGS = nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK;

/** open + fstat: what is read is what was stat'ed, even if the path is replaced meanwhile. */
export async function openForRead(fs: FileSystem, real: string): Promise<{ handle: FileHandle; stat: Stats }> {
  const handle = await fs.open(real, READ_FLAGS);
  try {
    return { handle, stat: await handle.stat() };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/**
 * A sidecar is used when it is a regular file — lstat, so a symlink out of
 * the root cannot pose as one — and no older than its document: a stale
 * `x.gz` left behind by a deploy would serve yesterday's page.
 */
export async function sidecarStat(fs: FileSystem, file: string, of: Stats): Promise<Stats | null> {
  try {
    const st = await fs.lstat(file);
    return st.isFile() && st.mtimeMs >= of.mtimeMs ? st : null;
  } catch {
    return null;
  }
}

export function diskRep(stat: Stats, binding: Binding, coding: SidecarCoding | null): Representation {
  const format = coding === null ? binding.format : { type: binding.format.type, params: binding.format.params, codings: [coding] };
  return {
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    etag: strongETag(stat.size, stat.mtimeMs, coding === null ? '' : '-' + coding),
    mtimeSec: Math.floor(stat.mtimeMs / 1000),
    lastModified: stat.mtime.toUTCString(),
    format,
    contentType: binding.contentType,
    bytes: null,
  };
}

/** The whole file into one Buffer (its own allocation: cached bytes must not pin a pool slab). */
export async function readAll(handle: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await handle.read(buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === size ? buf : buf.subarray(0, off);
}


/**
 * Streams from an open file: FileStreams on its descriptor, which never
 * close it (closing is the FileHandle's alone: a second close could hit a
 * descriptor number already reused by another file). Each stream is
 * destroyed when the client goes away; the handle is closed once it is
 * released and no stream can read any more (ended, failed, or closed).
 */
export function handleSource(handle: FileHandle, request: Request): Source {
  let active = 0;
  let releasing = false;
  let closed = false;
  const closeIfIdle = (): void => {
    if (!releasing || active > 0 || closed) return;
    closed = true;
    handle.close().catch(() => {});
  };
  const release = (): void => {
    releasing = true;
    closeIfIdle();
  };
  const open = (start: number, end: number): Readable => {
    const stream = new FileStream(handle.fd, start, end);
    active++;
    let done = false;
    const signal = request.aborted ? null : request.signal;
    const onAbort = (): void => void stream.destroy();
    const finished = (): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      active--;
      closeIfIdle();
    };
    stream.once('end', finished);
    stream.once('close', finished);
    stream.on('error', finished); // the writer sees the failure as a short body and closes
    if (signal === null) stream.destroy();
    else signal.addEventListener('abort', onAbort, { once: true });
    return stream;
  };
  return {
    range(start, end) {
      if (end < start) {
        release();
        return Buffer.alloc(0);
      }
      const stream = open(start, end);
      release(); // closed when this stream is done
      return stream;
    },
    // The multipart body releases the handle when it closes.
    part: (start, end) => open(start, end),
    release,
  };
}
