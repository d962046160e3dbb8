// The scenarios: one wrk load each, the peers it compares and the target the
// project sets for the wire, the converters and the FILE module. `target.ratio` is the least
// streamstack/peer ratio of median requests/s; `target.maxRssMiB` bounds
// streamstack's peak RSS; `warmup` is a longer warm-up (seconds) where one is needed.
//
// `shared`: the server and wrk (two threads) run unpinned on all CPUs. For
// bodies of 64 KiB and more, one wrk thread on its own core reads slower than
// any of the servers writes (nginx included), so pinned req/s would measure
// wrk. Shared, the server that needs less CPU per request leaves more of the
// machine to wrk and serves more: req/s measures the server again.
//
// `proxy`: the peers are reverse proxies in front of one upstream (upstream.js,
// the body from memory), started per scenario on CPU 1, where wrk runs too;
// the proxies are on CPU 0 as the servers elsewhere. A proxy scenario that is
// also `shared` runs the proxy, the upstream and wrk unpinned.
//
// `cache`: a proxy scenario with the HTTP cache: streamstack's rule file gets
// `ProxyCache /*` (and `ProxyCacheSize cache.size` where given), nginx runs with
// proxy_cache (keys zone `cache.nginxZone`, default 1m; `cache.nginxNoPush`:
// tcp_nopush off, without which nginx stalls on 64 KiB hits, proc.js), and the upstream's
// /cache/ paths say `Cache-Control: public, max-age=3600`. `file` names the
// fixture the response must equal when the path is not the file's own.

import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const WIRE = ['streamstack', 'node-fixed', 'node-send'];
const FILE = ['streamstack', 'node-send', 'nginx'];
const PROXY = ['streamstack', 'http-proxy', 'nginx-proxy'];
const CACHE = ['streamstack', 'nginx-cache', 'http-proxy'];

export const SCENARIOS = [
  {
    name: 'keepalive-13b',
    what: 'GET /hello.txt, keep-alive',
    path: '/hello.txt',
    connections: 50,
    peers: WIRE,
    target: { peer: 'node-send', ratio: 5 },
  },
  {
    name: 'pipelined-13b',
    what: 'GET /hello.txt, pipelined 16 deep',
    path: '/hello.txt',
    connections: 50,
    script: path.join(here, 'pipeline.lua'),
    scriptArgs: ['16'],
    peers: WIRE,
    target: { peer: 'node-send', ratio: 7 },
  },
  {
    name: 'newconn-13b',
    what: 'GET /hello.txt, a new connection per request',
    path: '/hello.txt',
    connections: 50,
    headers: ['Connection: close'],
    // Measured: after 1 s of warm-up the first round ran 2-3x slower for every
    // server (CPU per request included); after 3 s the rounds agree.
    warmup: 3,
    peers: WIRE,
    target: { peer: 'node-send', ratio: 2.5 },
  },
  {
    name: 'gzip-64k',
    what: 'GET /64k.txt, Accept-Encoding: gzip, keep-alive',
    path: '/64k.txt',
    connections: 50,
    headers: ['Accept-Encoding: gzip'],
    gzip: true,
    peers: ['streamstack', 'send-compression'],
    target: { peer: 'send-compression', ratio: 10 },
  },
  {
    name: 'file-4k',
    what: 'GET /4k.bin, keep-alive',
    path: '/4k.bin',
    connections: 50,
    peers: FILE,
    target: { peer: 'node-send', ratio: 5 },
  },
  {
    // Two worker processes against one, on both CPUs (wrk -t2 beside them,
    // unpinned, as in the shared scenarios): what --workers 2 buys on this machine.
    name: 'file-4k-workers',
    shared: true,
    what: 'GET /4k.bin, keep-alive, two workers vs one',
    path: '/4k.bin',
    connections: 50,
    peers: ['streamstack-2w', 'streamstack'],
    base: 'streamstack-2w',
    target: null,
  },
  {
    // The status page's counting on the hot path: the same file-4k run with a
    // Status rule and without; a ratio of 1 means it costs nothing measurable.
    name: 'file-4k-status',
    what: 'GET /4k.bin, keep-alive, with a Status rule vs without',
    path: '/4k.bin',
    connections: 50,
    peers: ['streamstack-status', 'streamstack'],
    base: 'streamstack-status',
    target: null,
  },
  {
    name: 'file-64k',
    shared: true,
    what: 'GET /64k.bin, keep-alive',
    path: '/64k.bin',
    connections: 50,
    peers: FILE,
    target: { peer: 'node-send', ratio: 3 },
  },
  {
    name: 'file-1m',
    shared: true,
    what: 'GET /1m.bin, keep-alive',
    path: '/1m.bin',
    connections: 20,
    peers: FILE,
    target: { peer: 'node-send', ratio: 1.5 },
  },
  {
    name: 'file-16m',
    shared: true,
    what: 'GET /16m.bin, keep-alive',
    path: '/16m.bin',
    connections: 10,
    peers: FILE,
    target: { peer: 'node-send', ratio: 1.5 },
  },
  {
    name: 'rss-16m',
    what: 'peak RSS while 50 clients GET /16m.bin',
    path: '/16m.bin',
    connections: 50,
    peers: FILE,
    rss: true,
    target: { peer: 'streamstack', maxRssMiB: 100 },
  },
  {
    name: 'proxy-100b',
    what: 'GET /100b.bin through a reverse proxy, keep-alive both sides',
    path: '/100b.bin',
    connections: 50,
    proxy: true,
    // With two references: the byte relay, the least a Node proxy can cost here,
    // and the minimal HTTP proxy, the least HTTP's own work adds to it.
    peers: [...PROXY, 'node-relay', 'node-minimal'],
    target: { peer: 'http-proxy', ratio: 2.5 },
  },
  {
    name: 'proxy-1m',
    what: 'GET /1m.bin through a reverse proxy, keep-alive both sides',
    path: '/1m.bin',
    connections: 20,
    proxy: true,
    peers: PROXY,
    target: { peer: 'http-proxy', ratio: 1.5 },
  },
  {
    // The same, unpinned: pinned, wrk and the upstream on CPU 1 set the pace
    // once a proxy relays a MiB in well under a millisecond of CPU (streamstack,
    // nginx); shared, the proxy that needs less CPU leaves more of the machine to them.
    name: 'proxy-1m-shared',
    what: 'GET /1m.bin through a reverse proxy, keep-alive both sides, proxy, upstream and wrk unpinned',
    path: '/1m.bin',
    connections: 20,
    proxy: true,
    shared: true,
    peers: PROXY,
  },
  {
    // Hits: the first request stores the response, every measured one is answered from the cache.
    name: 'cache-4k',
    what: 'GET /cache/4k.bin through a caching proxy, every request a hit',
    path: '/cache/4k.bin',
    file: '4k.bin',
    connections: 50,
    proxy: true,
    cache: {},
    peers: CACHE,
    target: { peer: 'nginx-cache', ratio: 1 },
  },
  {
    name: 'cache-64k',
    what: 'GET /cache/64k.bin through a caching proxy, every request a hit',
    path: '/cache/64k.bin',
    file: '64k.bin',
    connections: 50,
    proxy: true,
    // At 64 KiB one wrk thread on CPU 1 reads slower than the caches write (as for file-64k).
    shared: true,
    cache: { nginxNoPush: true },
    peers: CACHE,
    target: { peer: 'nginx-cache', ratio: 1 },
  },
  {
    // The miss path: a distinct URL per request (distinct.lua), so each goes upstream
    // and is stored; 8M of cache (about 1,600 responses of 4 KiB) fills within a
    // second and evicts from then on. The target bounds streamstack's peak RSS; the
    // ratio to nginx is reported. Measured by hand, 500,000 misses at this load:
    // 243-251 MiB, flat from the 20th second on (1,619 entries, 8.4 MB stored);
    // the same load through the plain proxy, no cache, peaked at 184 MiB.
    name: 'cache-miss-4k',
    what: 'GET /cache/4k.bin?r=..&n=N, a distinct URL per request: every one a miss, stored, ProxyCacheSize 8M',
    path: '/cache/4k.bin',
    file: '4k.bin',
    connections: 50,
    script: path.join(here, 'distinct.lua'),
    proxy: true,
    cache: { size: '8M', nginxZone: '1m' },
    peers: ['streamstack', 'nginx-cache'],
    target: { peer: 'streamstack', maxRssMiB: 300 },
  },
];
