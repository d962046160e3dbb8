#!/usr/bin/env node
// Adds a user to a password file, or changes their password, with a bcrypt
// hash: the line `htpasswd -B FILE USER` (Debian's apache2-utils) writes.
//
//   node scripts/passwd.js FILE USER [--cost N]
//
// The password is read from standard input (its first line), so it shows
// neither on the command line nor in the shell's history:
//
//   printf '%s\n' 'a long passphrase' | node scripts/passwd.js rules/upload-area.passwd alice
//
// The file is created when missing; other users' lines are kept as they are.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';

function fail(message) {
  process.stderr.write(`passwd.js: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let cost = 10;
const costAt = args.indexOf('--cost');
if (costAt !== -1) {
  cost = Number(args[costAt + 1]);
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) fail('--cost expects a number from 4 to 31');
  args.splice(costAt, 2);
}
if (args.length !== 2) fail('usage: node scripts/passwd.js FILE USER [--cost N] (the password on standard input)');
const [file, user] = args;
if (user === '' || /[:\s]/.test(user)) fail('a user name may not be empty, nor hold a colon or a space');

const input = readFileSync(0, 'utf8');
const password = input.split(/\r?\n/)[0];
if (password === '') fail('expected the password on standard input');

let lines = [];
try {
  lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
} catch (err) {
  if (err.code !== 'ENOENT') fail(`cannot read ${file} (${err.code})`);
}
const line = `${user}:${bcrypt.hashSync(password, cost)}`;
const at = lines.findIndex((l) => l.slice(0, l.indexOf(':')) === user);
if (at === -1) lines.push(line);
else lines[at] = line;
// Written beside the file, then renamed over it: a reader never sees half a file.
const tmp = `${file}.tmp-${process.pid}`;
writeFileSync(tmp, lines.join('\n') + '\n', { mode: 0o600 });
renameSync(tmp, file);
process.stdout.write(`${at === -1 ? 'added' : 'changed'} ${user} in ${file}\n`);
