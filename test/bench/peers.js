// The servers the benchmark compares, each a separate child process:
// streamstack's own CLI, three node:http peers (scripts in this directory) and nginx.
// Every one takes `ROOT --port 0` and prints `http://HOST:PORT/` once listening.

import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');

export const PEERS = {
  streamstack: {
    label: 'streamstack',
    script: path.join(REPO, 'dist', 'src', 'cli.js'),
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
};
