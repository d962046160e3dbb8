// Reading files from disk for the FILE module (libwww HTFile's HTFileOpen
// and the stream it fed): open + fstat so that what is read is what was
// stat'ed, a small file whole into one Buffer for the memory cache, a big
// one streamed from its handle (64 KiB reads, start/end for ranges), each
// stream destroyed when the client goes away. And the sidecar test of HTMulti.

import { constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Request } from '../src/request.js';
import type { Representation } from './file-cache.js';
import type { FileSystem } from './file-options.js';
import { strongETag } from './file-options.js';
import type { Source } from './file-send.js';
import type { Binding, SidecarCoding } from './file-variants.js';

/** O_NONBLOCK: opening a FIFO someone left in the tree never blocks (nginx does the same). */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const HIGH_WATER_MARK = 64 * 1024;

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

/** Streams from an open file; each stream is destroyed when the client goes away. */
export function handleSource(handle: FileHandle, request: Request): Source {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    handle.close().catch(() => {});
  };
  const open = (start: number, end: number, autoClose: boolean): Readable => {
    const stream = handle.createReadStream({ start, end, highWaterMark: HIGH_WATER_MARK, autoClose });
    stream.on('error', () => {}); // the writer sees the failure as a short body and closes
    if (request.aborted) stream.destroy();
    else {
      const signal = request.signal;
      const onAbort = (): void => void stream.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return stream;
  };
  return {
    range(start, end) {
      if (end < start) {
        release();
        return Buffer.alloc(0);
      }
      released = true; // the stream closes the handle
      return open(start, end, true);
    },
    part: (start, end) => open(start, end, false),
    release,
  };
}
