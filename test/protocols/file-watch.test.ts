// Live editing through the FILE module's memory cache: a change on disk is
// served as soon as the file system reports it (the default revalidation
// window of the old cache was a second: every poll below gives up at 500 ms),
// a hit on a watched document makes no system call, an unwatched one is
// stat'ed on every request, the watches are bounded and let go, and a change
// during a load never leaves the old bytes cached as fresh.

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WatchFunction } from '../../protocols/file-watch.js';
import { DirWatches, dependencies, notifiesAll, watchDirectory } from '../../protocols/file-watch.js';
import { CountingFs, GET, osError, startServer, stopServers } from './file-helpers.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
afterEach(stopServers);

let root: string;
let counting: CountingFs;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-watch-'));
  roots.push(root);
  counting = new CountingFs();
});

const write = (rel: string, data: string) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), data);
};

/** Like an editor's save: a temporary file renamed over the original. */
const saveByRename = (rel: string, data: string) => {
  const tmp = path.join(root, path.dirname(rel), `.${path.basename(rel)}.swp`);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, path.join(root, rel));
};

const start = (file: Record<string, unknown> = {}, rules = 'DirAccess On\nPass /*') =>
  startServer(root, rules, { file: { fs: counting.fs, ...file } });

/** Polls `target` until its body is `want`: bounded, so a time window of a second fails. */
async function served(port: number, target: string, want: string | number, ms = 500): Promise<{ tries: number; elapsed: number }> {
  const started = Date.now();
  let tries = 0;
  let last = '';
  for (;;) {
    tries++;
    const r = await GET(port, target);
    last = `${r.status} ${r.body.toString()}`;
    if (typeof want === 'number' ? r.status === want : r.status === 200 && r.body.toString() === want) return { tries, elapsed: Date.now() - started };
    if (Date.now() - started > ms) throw new Error(`${target}: still ${JSON.stringify(last)} after ${ms} ms, wanted ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** fs.watch, with every event it delivers counted. */
function countingWatch(): { watch: WatchFunction; events: number; opened: string[] } {
  const state = { events: 0, opened: [] as string[], watch: null as unknown as WatchFunction };
  state.watch = (dir, listener) => {
    state.opened.push(dir);
    return watchDirectory(dir, (event, name) => {
      state.events++;
      listener(event, name);
    });
  };
  return state;
}

async function until(check: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('an edit on disk', () => {
  it('is served as soon as the watch reports it, and the next hits make no system call again', async () => {
    write('doc.txt', 'version one\n');
    const { port } = await start();
    expect((await GET(port, '/doc.txt')).body.toString()).toBe('version one\n');
    counting.reset();
    expect((await GET(port, '/doc.txt')).body.toString()).toBe('version one\n');
    expect(counting.total).toBe(0);
    write('doc.txt', 'version two\n');
    await served(port, '/doc.txt', 'version two\n');
    counting.reset();
    expect((await GET(port, '/doc.txt')).body.toString()).toBe('version two\n');
    expect(counting.total).toBe(0);
  });

  it('saved by rename (vim, VS Code), same size and same second: the new bytes at once', async () => {
    write('page.html', '<p>aaaa</p>\n');
    const { port } = await start();
    await GET(port, '/page.html');
    saveByRename('page.html', '<p>bbbb</p>\n');
    await served(port, '/page.html', '<p>bbbb</p>\n');
  });

  it('reaches a document asked for through a symlink: the real path is what is watched', async () => {
    write('real/x.txt', 'one\n');
    write('real/y.txt', 'why\n');
    fs.mkdirSync(path.join(root, 'links'));
    fs.symlinkSync(path.join(root, 'real', 'x.txt'), path.join(root, 'links', 'l.txt'));
    const { port } = await start();
    expect((await GET(port, '/links/l.txt')).body.toString()).toBe('one\n');
    write('real/x.txt', 'two\n');
    await served(port, '/links/l.txt', 'two\n');
    // The link itself pointed elsewhere: its directory is watched too.
    fs.unlinkSync(path.join(root, 'links', 'l.txt'));
    fs.symlinkSync(path.join(root, 'real', 'y.txt'), path.join(root, 'links', 'l.txt'));
    await served(port, '/links/l.txt', 'why\n');
  });

  it('delete, create and rename of files show at once, in listings as well', async () => {
    write('d/keep.txt', 'keep\n');
    write('d/gone.txt', 'gone\n');
    const { port } = await start();
    expect((await GET(port, '/d/gone.txt')).status).toBe(200);
    expect((await GET(port, '/d/keep.txt')).status).toBe(200);
    const listing = async () => (await GET(port, '/d/', { Accept: 'application/json' })).body.toString();
    expect(await listing()).toContain('gone.txt');
    fs.unlinkSync(path.join(root, 'd', 'gone.txt'));
    await served(port, '/d/gone.txt', 404);
    expect(await listing()).not.toContain('gone.txt');
    write('d/new.txt', 'new\n');
    await served(port, '/d/new.txt', 'new\n');
    expect(await listing()).toContain('new.txt');
    fs.renameSync(path.join(root, 'd', 'keep.txt'), path.join(root, 'd', 'kept.txt'));
    await served(port, '/d/keep.txt', 404);
    await served(port, '/d/kept.txt', 'keep\n');
    expect(await listing()).toContain('kept.txt');
  });

  it('retargeting a symlinked directory above the requested one drops what was read through it', async () => {
    write('one/sub/x.txt', 'one\n');
    write('two/sub/x.txt', 'two\n');
    fs.mkdirSync(path.join(root, 'a'));
    fs.symlinkSync(path.join(root, 'one'), path.join(root, 'a', 'links'));
    const { port } = await start();
    expect((await GET(port, '/a/links/sub/x.txt')).body.toString()).toBe('one\n');
    const tmp = path.join(root, 'a', 'links.new');
    fs.symlinkSync(path.join(root, 'two'), tmp);
    fs.renameSync(tmp, path.join(root, 'a', 'links'));
    await served(port, '/a/links/sub/x.txt', 'two\n');
  });

  it('a root that is a symlink swapped by a deploy (current → releases/v2) is followed at once', async () => {
    write('releases/v1/index.html', '<p>v1</p>\n');
    write('releases/v1/big.bin', 'x'.repeat(2048));
    write('releases/v2/index.html', '<p>v2</p>\n');
    write('releases/v2/big.bin', 'y'.repeat(2048));
    const current = path.join(root, 'current');
    fs.symlinkSync(path.join(root, 'releases', 'v1'), current);
    const { port } = await startServer(current, 'Pass /*', { file: { fs: counting.fs, cacheMaxFile: 1024 } });
    expect((await GET(port, '/index.html')).body.toString()).toBe('<p>v1</p>\n');
    expect((await GET(port, '/big.bin')).body.toString()).toBe('x'.repeat(2048)); // not cached: read each time
    fs.symlinkSync(path.join(root, 'releases', 'v2'), current + '.new');
    fs.renameSync(current + '.new', current);
    await served(port, '/index.html', '<p>v2</p>\n');
    await served(port, '/big.bin', 'y'.repeat(2048));
  });

  it('renaming or deleting a parent directory drops what it held', async () => {
    write('a/b/x.txt', 'deep\n');
    const { port, server } = await start();
    expect((await GET(port, '/a/b/x.txt')).status).toBe(200);
    fs.renameSync(path.join(root, 'a'), path.join(root, 'c'));
    await served(port, '/a/b/x.txt', 404);
    expect((await GET(port, '/c/b/x.txt')).body.toString()).toBe('deep\n');
    fs.rmSync(path.join(root, 'c'), { recursive: true });
    await served(port, '/c/b/x.txt', 404);
    server.file.cache.check();
  });

  it('a Welcome file created ahead of the one served replaces it', async () => {
    write('site/index.html', '<p>html</p>\n');
    const { port } = await start({}, 'Welcome index.htm\nWelcome index.html\nPass /*');
    expect((await GET(port, '/site/')).body.toString()).toBe('<p>html</p>\n');
    write('site/index.htm', '<p>htm</p>\n');
    await served(port, '/site/', '<p>htm</p>\n');
  });

  it('a sidecar created next to a cached document is served at once', async () => {
    write('s/app.css', 'p { color: red }\n'.repeat(100));
    const { port } = await start();
    const gz = { 'Accept-Encoding': 'gzip' };
    expect((await GET(port, '/s/app.css', gz)).headers['content-encoding']).toBe('gzip');
    const { gzipSync } = await import('node:zlib');
    const sidecar = gzipSync('q { color: blue }\n');
    const later = new Date(Date.now() + 5000);
    fs.writeFileSync(path.join(root, 's', 'app.css.gz'), sidecar);
    fs.utimesSync(path.join(root, 's', 'app.css.gz'), later, later);
    const started = Date.now();
    for (;;) {
      const r = await GET(port, '/s/app.css', gz);
      if (r.body.equals(sidecar)) break;
      if (Date.now() - started > 500) throw new Error('sidecar not served within 500 ms');
    }
  });
});

describe('where watching is unavailable', () => {
  it('falls back to one stat per request, and still serves an edit at once', async () => {
    write('doc.txt', 'one\n');
    const failing: WatchFunction = () => {
      throw osError('ENOSPC');
    };
    const logged: string[] = [];
    const { port, server } = await start({ watch: failing, log: (m: string) => logged.push(m) });
    await GET(port, '/doc.txt');
    for (let i = 0; i < 3; i++) {
      counting.reset();
      expect((await GET(port, '/doc.txt')).body.toString()).toBe('one\n');
      expect(Object.fromEntries(counting.calls)).toEqual({ stat: 1 });
    }
    write('doc.txt', 'two, longer\n');
    expect((await GET(port, '/doc.txt')).body.toString()).toBe('two, longer\n');
    expect(server.file.watches.size).toBe(0);
    expect(logged.filter((l) => l.includes('ENOSPC'))).toHaveLength(1); // said once, not per request
  });

  it('bound 1: the first directory is watched, the second falls back to a stat per request', async () => {
    write('x.txt', 'x\n');
    write('sub/y.txt', 'y\n');
    const { port, server } = await start({ maxWatches: 1, log: () => {} });
    await GET(port, '/x.txt');
    await GET(port, '/sub/y.txt');
    expect(server.file.watches.size).toBe(1);
    counting.reset();
    await GET(port, '/x.txt');
    expect(counting.total).toBe(0);
    await GET(port, '/sub/y.txt');
    expect(Object.fromEntries(counting.calls)).toEqual({ stat: 1 });
    write('sub/y.txt', 'y changed\n');
    expect((await GET(port, '/sub/y.txt')).body.toString()).toBe('y changed\n');
  });

  it('a watcher that fails later drops its documents, never the process', async () => {
    write('doc.txt', 'one\n');
    const made: Array<{ emit(event: string, err: Error): boolean }> = [];
    const watch: WatchFunction = (dir, listener) => {
      const w = watchDirectory(dir, listener);
      made.push(w as unknown as { emit(event: string, err: Error): boolean });
      return w;
    };
    const { port, server } = await start({ watch, log: () => {} });
    await GET(port, '/doc.txt');
    expect(server.file.cache.count).toBe(1);
    made[0]!.emit('error', osError('EPERM'));
    expect(server.file.cache.count).toBe(0);
    expect(server.file.watches.size).toBe(0);
    expect((await GET(port, '/doc.txt')).body.toString()).toBe('one\n');
    expect(server.file.watches.size).toBe(1);
  });
});

describe('network file systems', () => {
  it('are not trusted to report changes: NFS, SMB, FUSE and 9p are stat\'ed instead; local ones watched', () => {
    for (const remote of [0x6969, 0xff534d42, 0x65735546, 0x01021997]) expect(notifiesAll(remote)).toBe(false);
    for (const local of [0xef53 /* ext4 */, 0x01021994 /* tmpfs */, 0x794c7630 /* overlayfs */, 0x58465342 /* xfs */]) expect(notifiesAll(local)).toBe(true);
    const w = watchDirectory(root, () => {});
    w.close();
  });
});

describe('the watches', () => {
  it('are shared by the documents of a directory and closed when the last one leaves the cache', async () => {
    for (const n of ['a', 'b', 'c']) write(`d/${n}.txt`, n.repeat(1000));
    write('e/z.txt', 'z');
    const { port, server } = await start({ cacheMaxTotal: 2500 });
    for (const n of ['a', 'b']) await GET(port, `/d/${n}.txt`);
    expect(server.file.watches.size).toBe(2); // d and the root above it
    await GET(port, '/e/z.txt');
    expect(server.file.watches.size).toBe(3);
    server.file.cache.invalidate(path.join(fs.realpathSync(root), 'e', 'z.txt'));
    expect(server.file.watches.size).toBe(2);
    server.file.flush();
    expect(server.file.watches.size).toBe(0);
  });

  it('are all closed when the server stops', async () => {
    write('d/a.txt', 'a');
    const { port, server } = await start();
    await GET(port, '/d/a.txt');
    expect(server.file.watches.size).toBe(2);
    await stopServers();
    expect(server.file.watches.size).toBe(0);
  });
});

describe('a change during a load', () => {
  it('reported while the document is being read: served once, never kept as fresh', async () => {
    write('r/doc.txt', 'old bytes\n');
    const watching = countingWatch();
    const { port, server } = await start({ watch: watching.watch });
    // Hold the load after its read, at the sidecar check, until the change is reported.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    counting.hold.lstat = (p) => (p.endsWith('doc.txt.br') ? held : undefined);
    const first = GET(port, '/r/doc.txt');
    await until(() => counting.log.some((l) => l.startsWith('lstat ') && l.endsWith('doc.txt.br')));
    const before = watching.events;
    saveByRename('r/doc.txt', 'new bytes\n');
    await until(() => watching.events > before);
    counting.hold = {};
    release();
    expect((await first).body.toString()).toBe('old bytes\n');
    expect(server.file.cache.count).toBe(0);
    expect((await GET(port, '/r/doc.txt')).body.toString()).toBe('new bytes\n');
  });

  it('made before the watch was in place: seen by the stat after it', async () => {
    write('r/doc.txt', 'old bytes\n');
    let swapped = false;
    // The change lands between the open and the watch, so no event will ever tell of it.
    const watch: WatchFunction = (dir, listener) => {
      if (!swapped && dir.endsWith('/r')) {
        swapped = true;
        saveByRename('r/doc.txt', 'new bytes\n');
      }
      const w = watchDirectory(dir, listener);
      return w;
    };
    const { port, server } = await start({ watch });
    expect((await GET(port, '/r/doc.txt')).body.toString()).toBe('old bytes\n');
    expect(swapped).toBe(true);
    expect(server.file.cache.count).toBe(0);
    expect((await GET(port, '/r/doc.txt')).body.toString()).toBe('new bytes\n');
  });
});

describe('DirWatches, with a fake watch function', () => {
  function fake() {
    const open = new Map<string, { listener: (event: string, name: string | null) => void; closed: boolean; onError?: (err: Error) => void }>();
    const watch: WatchFunction = (dir, listener) => {
      if (dir.includes('broken')) throw osError('ENOSPC');
      const w = { listener, closed: false, onError: undefined as ((err: Error) => void) | undefined };
      open.set(dir, w);
      return { close: () => void (w.closed = true), on: (_e: 'error', l: (err: Error) => void) => void (w.onError = l) };
    };
    return { open, watch };
  }

  it('acquires all or nothing, shares by count, closes with the last lease', () => {
    const f = fake();
    const changes: string[] = [];
    const w = new DirWatches(f.watch, 3, (dir, name) => changes.push(`${dir}:${name}`), () => {});
    const a = w.acquire(['/r/a', '/r'])!;
    const b = w.acquire(['/r/b', '/r'])!;
    expect(w.size).toBe(3);
    expect(w.acquire(['/r/c', '/r'])).toBeNull(); // the bound: nothing held
    expect(w.acquire(['/r/broken'])).toBeNull();
    expect(w.acquire(['/r', '/r/broken'])).toBeNull(); // '/r' taken, then let go again
    expect(w.size).toBe(3);
    a.release();
    a.release(); // once only
    expect([w.has('/r/a'), w.has('/r'), w.has('/r/b')]).toEqual([false, true, true]);
    expect(f.open.get('/r/a')!.closed).toBe(true);
    b.release();
    expect(w.size).toBe(0);
    expect(changes).toEqual([]);
  });

  it('reports a name, the directory itself as null, and survives a listener that throws', () => {
    const f = fake();
    const changes: string[] = [];
    const logged: string[] = [];
    let explode = false;
    const w = new DirWatches(f.watch, 10, (dir, name) => {
      changes.push(`${dir}:${name}`);
      if (explode) throw new Error('listener bug');
    }, (m) => logged.push(m));
    const lease = w.acquire(['/r/site', '/r'])!;
    f.open.get('/r/site')!.listener('change', 'x.html');
    explode = true;
    expect(() => f.open.get('/r/site')!.listener('rename', 'y.html')).not.toThrow();
    expect(logged.some((l) => l.includes('listener bug'))).toBe(true);
    explode = false;
    f.open.get('/r/site')!.listener('rename', 'site'); // the directory itself, renamed
    expect(changes).toEqual(['/r/site:x.html', '/r/site:y.html', '/r/site:null']);
    expect(w.has('/r/site')).toBe(false);
    expect(lease.held).toBe(false);
    f.open.get('/r')!.onError!(osError('EPERM'));
    expect(changes.at(-1)).toBe('/r:null');
    expect(w.size).toBe(0);
    expect(() => lease.release()).not.toThrow();
  });

  it('dependencies: the real chain; the requested chain and the root\'s holder only where symlinks differ', () => {
    expect(dependencies('/r/a/b/x', '/r/a/b/x', '/r', '/r')).toEqual(['/r/a/b', '/r/a', '/r']);
    expect(dependencies('/r/x', '/r/x', '/r', '/r')).toEqual(['/r']);
    expect(dependencies('/r/real/x', '/r/l/sub/x', '/r', '/r')).toEqual(['/r/real', '/r', '/r/l/sub', '/r/l']);
    expect(dependencies('/srv/v1/x', '/srv/current/x', '/srv/current', '/srv/v1')).toEqual(['/srv/v1', '/srv/current', '/srv']);
  });
});
