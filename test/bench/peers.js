// The servers the benchmark compares, each a separate child process:
// streamstack's own CLI, three node:http peers (scripts in this directory) and nginx.
// Every one takes `ROOT --port 0` and prints `http://HOST:PORT/` once listening.
// In the proxy scenarios `proxyArgs` gives the arguments before `--port 0`
// instead: UPSTREAM is the upstream's URL, RULES a rule file proxying to it.

import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { startServer } from './proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');

export const PEERS = {
  streamstack: {
    label: 'streamstack',
    script: path.join(REPO, 'dist', 'src', 'cli.js'),
    proxyArgs: ({ root, rules }) => [root, '--rules', rules],
    // In a cache scenario its rule file has `ProxyCache /*` (run.js, startUpstream).
    caching: true,
  },
  // The same CLI with two worker processes (file-4k-workers), and with a Status rule (file-4k-status).
  'streamstack-2w': {
    label: 'two workers',
    script: path.join(REPO, 'dist', 'src', 'cli.js'),
    args: ({ root }) => [root, '--workers', '2'],
  },
  'streamstack-status': {
    label: 'with Status',
    script: path.join(REPO, 'dist', 'src', 'cli.js'),
    args: ({ root }) => {
      // Passes the root as the default rules do, with the status page on: every reply counted (src/status.ts).
      const rules = path.join(root, 'status.rules');
      writeFileSync(rules, 'Status /server-status\nPass /*\n');
      return [root, '--rules', rules];
    },
  },
  'node-fixed': {
    label: 'node:http fixed',
    script: path.join(here, 'peer-node-fixed.js'),
    // Answers the same 13 bytes whatever the path: only valid for the 13-byte scenarios.
    fixed: true,
  },
  'node-send': {
    label: 'node:http+send',
    script: path.join(here, 'peer-send.js'),
  },
  nginx: {
    label: 'nginx (sendfile)',
    // A reference, not a Node peer: started from a config of proc.js's
    // (startNginx) where nginx is installed, skipped with a warning otherwise.
    nginx: true,
  },
  'send-compression': {
    label: 'send+compression',
    script: path.join(here, 'peer-send-compression.js'),
  },
  'http-proxy': {
    label: 'http-proxy',
    script: path.join(here, 'peer-http-proxy.js'),
    proxyArgs: ({ upstream }) => [upstream],
  },
  'node-relay': {
    label: 'byte relay',
    // A reference for proxy-100b: bytes copied both ways, no HTTP (peer-relay.js).
    script: path.join(here, 'peer-relay.js'),
    proxyArgs: ({ upstream }) => [upstream],
  },
  'node-minimal': {
    label: 'minimal HTTP',
    // A reference for proxy-100b: heads split with no check, a pool, the fewest fields (peer-minimal.js).
    script: path.join(here, 'peer-minimal.js'),
    proxyArgs: ({ upstream }) => [upstream],
  },
  'nginx-proxy': {
    label: 'nginx (proxy)',
    // startNginx with the upstream's port: proxy_pass to a keep-alive upstream block.
    nginx: true,
  },
  'nginx-cache': {
    label: 'nginx (cache)',
    // The same with proxy_cache in front (proc.js, proxyServer): the cache scenarios' target.
    nginx: true,
    caching: true,
  },
};

/** The upstream of the proxy scenarios (not a peer: it is never measured as one). */
export const UPSTREAM = path.join(here, 'upstream.js');

/**
 * Starts the upstream of a proxy scenario, on CPU 1 (with wrk) when pinned,
 * and writes the rule file that makes streamstack proxy every path to it
 * (with the HTTP cache in front in a cache scenario, bounded by its size
 * where it gives one): { child, pid, port, url, rules }.
 */
export async function startUpstream({ root, pinning, cache }) {
  const server = await startServer({ script: UPSTREAM, root, pinning, cpu: 1, cwd: REPO });
  const url = `http://127.0.0.1:${server.port}`;
  const rules = path.join(root, 'proxy.rules');
  const caching = cache ? `${cache.size ? `ProxyCacheSize ${cache.size}\n` : ''}ProxyCache /*\n` : '';
  writeFileSync(rules, `# The bench's reverse proxy: every path to the upstream.\n${caching}Proxy /* ${url}/*\n`);
  return { ...server, url, rules };
}
