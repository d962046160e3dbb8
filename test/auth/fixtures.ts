// Fixtures of the Protect tests: a document root, a bcrypt password file and
// a group file in a temporary directory, a server built in-process from rule
// text whose Guard gets an injected clock and a compare function that counts
// its calls.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import bcrypt from 'bcryptjs';
import { Server, type ServerOptions } from '../../src/server.js';
import { parseRules } from '../../src/rules/index.js';
import { loadGuard, type Guard, type GuardOptions } from '../../src/auth/guard.js';

/** Users of the password file and their passwords. */
export const PASSWORDS: Readonly<Record<string, string>> = {
  alice: 'alice-pw',
  bob: 'bob-pw',
  carol: 'carol-pw',
  'zoë': 'pässwörd:with colon',
};

/** `Basic base64(user:password)`. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function auth(user: string, password = PASSWORDS[user]!): Record<string, string> {
  return { Authorization: basic(user, password) };
}

/** Cost 4: the tests check the logic, not the cost. */
export function passwordLines(passwords: Record<string, string> = PASSWORDS): string {
  return Object.entries(passwords).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}\n`).join('');
}

export interface Site {
  dir: string;
  root: string;
  passwd: string;
  groups: string;
  cleanup(): void;
}

export function makeSite(): Site {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-auth-'));
  const root = path.join(dir, 'root');
  for (const sub of ['guarded', 'uploads', 'open']) fs.mkdirSync(path.join(root, sub), { recursive: true });
  fs.writeFileSync(path.join(root, 'guarded', 'doc.txt'), 'guarded document\n');
  fs.writeFileSync(path.join(root, 'uploads', 'doc.txt'), 'upload area\n');
  fs.writeFileSync(path.join(root, 'open', 'doc.txt'), 'open\n');
  const passwd = path.join(dir, 'passwd');
  const groups = path.join(dir, 'groups');
  fs.writeFileSync(passwd, `# users\n${passwordLines()}`);
  fs.writeFileSync(groups, 'writers: bob\nreaders: bob, zoë\n');
  return { dir, root, passwd, groups, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * /guarded/*: GET (and HEAD) for alice and the readers group, PUT for the
 * writers group, DELETE for All, no PostMask. /uploads/*: PutMask only.
 */
export function siteRules(site: Site, extra = ''): string {
  return `
Enable PUT /*
Enable DELETE /*
Enable POST /*
Protection reading {
  AuthType Basic
  ServerId "Reading \\"room\\""
  PasswordFile ${site.passwd}
  GroupFile ${site.groups}
  GetMask alice, readers
  PutMask writers
  DeleteMask All
}
Protection uploads {
  AuthType Basic
  ServerId Uploads
  PasswordFile ${site.passwd}
  PutMask All
}
Protect /guarded/* reading
Protect /uploads/* uploads
${extra}
Pass /*
`;
}

/** A clock the test moves. */
export class Clock {
  t = 1_000_000;
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** bcryptjs's compare, counted. */
export function countingCompare(): { calls: number; compare: (password: string, hash: string) => Promise<boolean> } {
  const c = {
    calls: 0,
    compare: (password: string, hash: string) => {
      c.calls++;
      return bcrypt.compare(password, hash);
    },
  };
  return c;
}

const servers: Server[] = [];

export async function startProtected(site: Site, rules: string, guard: GuardOptions = {}, options: ServerOptions = {}): Promise<{ server: Server; port: number; guard: Guard }> {
  const server = new Server(parseRules(rules, path.join(site.dir, 'test.rules'), { serverRoot: site.root }), options);
  const g = await loadGuard(server.rules, guard);
  const { port } = await server.listen(0, '127.0.0.1');
  servers.push(server);
  return { server, port, guard: g };
}

export async function stopAll(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
}
