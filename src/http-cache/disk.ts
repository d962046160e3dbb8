// The disk tier of the HTTP cache (`ProxyCacheDir DIR [SIZE]`): every stored
// response is also written to DIR, one file per response, so the cache
// survives a restart. A file is written whole under a temporary name, synced,
// then renamed over its final name (rename is atomic within a directory): a
// crash leaves either the old file, the new one, or a temporary file that
// the next start deletes, never a torn entry. A file that does not read
// back whole (its lengths disagree) is deleted, not served.
//
// File layout: "SSC1", the metadata's length (uint32 BE), the metadata
// (JSON: URI, Vary, status, fields, format, times), then the body.
// In memory the tier keeps only the index (metadata, no bodies), bounded in
// bytes on disk with the least recently used deleted first. Under workers,
// each process indexes the directory and tells the others what it wrote and
// deleted (`peers`, peers.ts), so every index follows the directory and the
// bound holds for all of them together.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ReplyHeaders } from '../reply.js';
import type { RequestHeaders } from '../request.js';
import { makeFormat } from '../format.js';
import { parseCacheControl } from './cache-control.js';
import type { StoredResponse } from './store.js';
import { varyMatches } from './vary.js';
import type { CachePeers } from './peers.js';

const MAGIC = Buffer.from('SSC1', 'latin1');
const SUFFIX = '.entry';
const TEMP = '.tmp';

/** What the index keeps of a file: enough to select it (§4.1) and charge it. */
interface Indexed {
  readonly file: string;
  readonly uri: string;
  readonly vary: readonly string[];
  readonly varyValues: readonly (string | null)[];
  readonly dateValue: number;
  readonly responseTime: number;
  readonly bytes: number;
}

interface Meta {
  uri: string;
  vary: string[];
  varyValues: (string | null)[];
  status: number;
  headers: ReplyHeaders;
  format: { type: string; params: Record<string, string>; codings: string[] } | null;
  date: string;
  lifetime: number;
  requestTime: number;
  responseTime: number;
  dateValue: number;
  ageValue: number;
  bodyLength: number;
}

export class DiskStore {
  readonly dir: string;
  #max: number;
  readonly #byUri = new Map<string, Indexed[]>();
  readonly #byFile = new Map<string, Indexed>();
  /** Recency, oldest first. */
  readonly #lru = new Set<Indexed>();
  #bytes = 0;
  /** Writes and deletions in flight, so that a test (or a stop) can wait for them. */
  readonly #writing = new Set<Promise<void>>();
  /** The last write of each file: writes of one file are made in order, so the newest content is the one renamed last. */
  readonly #lastWrite = new Map<string, Promise<void>>();
  /** Invalidations by URI: a write that started before one deletes its file instead of indexing it. */
  readonly #invalidated = new Map<string, number>();
  #invalidations = 0;
  evictions = 0;
  /** Files found broken (and deleted) at start or on read. */
  discarded = 0;
  /** The other workers' caches: told of every file indexed or deleted here. */
  peers: CachePeers | null = null;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.#max = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#lru.size;
  }

  /** Creates the directory, deletes leftover temporary files, and indexes the entries. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const file = join(this.dir, name);
      if (name.endsWith(TEMP)) {
        // A write a crash interrupted.
        await unlink(file).catch(() => {});
        this.discarded++;
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const read = await readHead(file).catch(() => null);
      if (read === null) {
        await unlink(file).catch(() => {});
        this.discarded++;
        continue;
      }
      this.#add({ file, uri: read.meta.uri, vary: read.meta.vary, varyValues: read.meta.varyValues, dateValue: read.meta.dateValue, responseTime: read.meta.responseTime, bytes: read.bytes });
    }
    this.#evict();
  }

  /** The file this request selects, if any (most recent of the matching ones). */
  has(uri: string, headers: RequestHeaders): boolean {
    return this.#select(uri, headers) !== null;
  }

  /** Reads the entry this request selects back; null when none, or when its file is broken (then deleted). */
  async load(uri: string, headers: RequestHeaders): Promise<StoredResponse | null> {
    const indexed = this.#select(uri, headers);
    if (indexed === null) return null;
    const read = await readEntry(indexed.file).catch(() => null);
    if (read === null || read.meta.uri !== uri) {
      // Gone before the miss this makes can write the file anew.
      this.#remove(indexed);
      await this.#unlink(indexed.file);
      this.discarded++;
      return null;
    }
    this.#lru.delete(indexed);
    this.#lru.add(indexed);
    const m = read.meta;
    const cc = parseCacheControl(m.headers['Cache-Control']);
    return {
      uri: m.uri, vary: m.vary, varyValues: m.varyValues, status: m.status, headers: m.headers,
      format: m.format === null ? null : makeFormat(m.format.type, m.format.params, m.format.codings),
      body: read.body, date: m.date, cc, lifetime: m.lifetime, size: 0,
      requestTime: m.requestTime, responseTime: m.responseTime, dateValue: m.dateValue, ageValue: m.ageValue,
    };
  }

  /**
   * Writes `entry` (in the background): replaces what the request that
   * brought it would select. Rewriting an entry (a 304 freshened it)
   * renames over its own file.
   */
  write(entry: StoredResponse, requestHeaders: RequestHeaders): void {
    const file = join(this.dir, fileName(entry));
    const list = this.#byUri.get(entry.uri);
    if (list !== undefined) {
      for (const old of [...list]) {
        if (old.file !== file && varyMatches(old.vary, old.varyValues, requestHeaders)) this.#drop(old);
      }
    }
    const meta: Meta = {
      uri: entry.uri, vary: [...entry.vary], varyValues: [...entry.varyValues], status: entry.status, headers: entry.headers,
      format: entry.format === null ? null : { type: entry.format.type, params: { ...entry.format.params }, codings: [...entry.format.codings] },
      date: entry.date, lifetime: entry.lifetime, requestTime: entry.requestTime, responseTime: entry.responseTime,
      dateValue: entry.dateValue, ageValue: entry.ageValue, bodyLength: entry.body.length,
    };
    const json = Buffer.from(JSON.stringify(meta), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(json.length);
    const bytes = MAGIC.length + 4 + json.length + entry.body.length;
    const indexed: Indexed = { file, uri: entry.uri, vary: entry.vary, varyValues: entry.varyValues, dateValue: entry.dateValue, responseTime: entry.responseTime, bytes };
    const previous = this.#lastWrite.get(file) ?? Promise.resolve();
    const generation = this.#invalidated.get(entry.uri);
    const job = previous.then(() => writeWhole(file, [MAGIC, length, json, entry.body])).then(async () => {
      if (this.#invalidated.get(entry.uri) !== generation) return this.#unlink(file);
      // The file now holds this entry: the index follows it (an older record of the same file goes).
      this.#add(indexed);
      this.peers?.('stored', basename(file));
      this.#evict();
    }, () => {
      // No space, no permission: the entry stays in memory only.
    });
    this.#writing.add(job);
    this.#lastWrite.set(file, job);
    void job.finally(() => {
      this.#writing.delete(job);
      if (this.#lastWrite.get(file) === job) this.#lastWrite.delete(file);
    });
  }

  /** Every entry of `uri` (§4.4), files included. The peers hear of it as an invalidation (Storing), not file by file. */
  invalidate(uri: string): void {
    this.#bump(uri);
    for (const e of [...(this.#byUri.get(uri) ?? [])]) this.#drop(e, false);
  }

  #bump(uri: string): void {
    if (this.#invalidated.size >= 10_000) this.#invalidated.clear();
    this.#invalidated.set(uri, ++this.#invalidations);
  }

  /** Another worker wrote the file `name`: indexed here too, as found. */
  async peerStored(name: string): Promise<void> {
    const file = this.#named(name);
    if (file === null) return;
    const read = await readHead(file).catch(() => null);
    if (read === null) return;
    const m = read.meta;
    this.#add({ file, uri: m.uri, vary: m.vary, varyValues: m.varyValues, dateValue: m.dateValue, responseTime: m.responseTime, bytes: read.bytes });
    this.#evict();
  }

  /** Another worker deleted the file `name`: forgotten here, unless a later write put it back. */
  async peerRemoved(name: string): Promise<void> {
    const file = this.#named(name);
    if (file === null || !this.#byFile.has(file)) return;
    const gone = await stat(file).then(() => false, () => true);
    const e = this.#byFile.get(file);
    if (gone && e !== undefined) this.#remove(e);
  }

  /** Another worker invalidated `uri` and deleted its files: forgotten here, and writes under way dropped. */
  peerInvalidated(uri: string): void {
    this.#bump(uri);
    for (const e of [...(this.#byUri.get(uri) ?? [])]) this.#remove(e);
  }

  /** A file of this directory from a peer's name for it; null for anything that is not one. */
  #named(name: string): string | null {
    return /^[0-9a-f]{40}\.entry$/.test(name) ? join(this.dir, name) : null;
  }

  /** Resolves when every write and deletion started so far has ended. */
  async settled(): Promise<void> {
    while (this.#writing.size > 0) await Promise.all([...this.#writing]);
  }

  #select(uri: string, headers: RequestHeaders): Indexed | null {
    let best: Indexed | null = null;
    for (const e of this.#byUri.get(uri) ?? []) {
      if (varyMatches(e.vary, e.varyValues, headers) && (best === null || e.dateValue > best.dateValue || (e.dateValue === best.dateValue && e.responseTime >= best.responseTime))) best = e;
    }
    return best;
  }

  /** Indexes `e`, in place of what the index had of its file. */
  #add(e: Indexed): void {
    const old = this.#byFile.get(e.file);
    if (old !== undefined) this.#remove(old);
    this.#byFile.set(e.file, e);
    const list = this.#byUri.get(e.uri);
    if (list === undefined) this.#byUri.set(e.uri, [e]);
    else list.push(e);
    this.#lru.add(e);
    this.#bytes += e.bytes;
  }

  #remove(e: Indexed): void {
    if (!this.#lru.delete(e)) return;
    this.#byFile.delete(e.file);
    this.#bytes -= e.bytes;
    const list = this.#byUri.get(e.uri)!;
    list.splice(list.indexOf(e), 1);
    if (list.length === 0) this.#byUri.delete(e.uri);
  }

  #evict(): void {
    // The index is in memory: at most one entry per 4 KiB of the bound, so many tiny files cannot swell it.
    while (this.#bytes > this.#max || this.#lru.size > Math.max(1000, this.#max / 4096)) {
      const oldest = this.#lru.values().next().value as Indexed | undefined;
      if (oldest === undefined) break;
      this.#drop(oldest);
      this.evictions++;
    }
  }

  /** Out of the index and off the disk (a deletion `settled` waits for); then the peers are told, when `tell`. */
  #drop(e: Indexed, tell = true): void {
    this.#remove(e);
    const job = this.#unlink(e.file, tell);
    this.#writing.add(job);
    void job.finally(() => this.#writing.delete(job));
  }

  async #unlink(file: string, tell = true): Promise<void> {
    await unlink(file).catch(() => {});
    if (tell) this.peers?.('removed', basename(file));
  }
}

/** One file per URI and secondary key: a newer response of the same key renames over it. */
function fileName(entry: StoredResponse): string {
  const key = `${entry.uri}\n${JSON.stringify(entry.vary)}\n${JSON.stringify(entry.varyValues)}`;
  return createHash('sha256').update(key).digest('hex').slice(0, 40) + SUFFIX;
}

/** Writes the pieces to a temporary file, syncs it, and renames it to `file`. */
async function writeWhole(file: string, pieces: readonly Buffer[]): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    // writeFile on a handle writes all of it from the current position, partial writes retried.
    for (const piece of pieces) await handle.writeFile(piece);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/** The metadata of a file, checked against the file's size, without reading the body. */
async function readHead(file: string): Promise<{ meta: Meta; bytes: number } | null> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(8);
    if (size < 8 || (await handle.read(head, 0, 8, 0)).bytesRead !== 8 || !head.subarray(0, 4).equals(MAGIC)) return null;
    const n = head.readUInt32BE(4);
    if (8 + n > size) return null;
    const json = Buffer.alloc(n);
    if ((await handle.read(json, 0, n, 8)).bytesRead !== n) return null;
    const meta = parseMeta(json.toString('utf8'));
    if (meta === null || 8 + n + meta.bodyLength !== size) return null;
    return { meta, bytes: size };
  } finally {
    await handle.close();
  }
}

function parseMeta(text: string): Meta | null {
  let meta: Meta;
  try {
    meta = JSON.parse(text) as Meta;
  } catch {
    return null;
  }
  if (meta === null || typeof meta !== 'object' || typeof meta.uri !== 'string' || !Array.isArray(meta.vary) || !Array.isArray(meta.varyValues)
    || typeof meta.bodyLength !== 'number' || typeof meta.status !== 'number' || typeof meta.headers !== 'object' || meta.headers === null) return null;
  return meta;
}

/** A file read back and checked: null when it is not a whole entry. */
async function readEntry(file: string): Promise<{ meta: Meta; body: Buffer; bytes: number } | null> {
  const data = await readFile(file);
  if (data.length < 8 || !data.subarray(0, 4).equals(MAGIC)) return null;
  const n = data.readUInt32BE(4);
  if (8 + n > data.length) return null;
  const meta = parseMeta(data.toString('utf8', 8, 8 + n));
  if (meta === null || 8 + n + meta.bodyLength !== data.length) return null;
  return { meta, body: data.subarray(8 + n), bytes: data.length };
}
