// Realm: one `Protection NAME { … }` block made ready to check requests
// (CERN httpd's HTAAProt): the realm name (ServerId), the users of its
// PasswordFile, the groups of its GroupFile, a mask per method, and the
// credentials already verified. The files are looked at again at most once
// a second; when one has changed it is read again and every verified
// credential is forgotten.

import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Protection } from '../rules/types.js';
import type { RuleError } from '../rules/rule-file-error.js';
import { parseGroupFile, parsePasswordFile, type FileProblem } from './password-file.js';

/**
 * The mask each method follows. HEAD reads what GET reads; PATCH and the
 * WebDAV methods write (or list, PROPFIND) as PUT does. OPTIONS follows none:
 * a CORS preflight never carries credentials, and it reveals only Allow.
 */
export const MASK_OF: Readonly<Record<string, string>> = Object.freeze({
  GET: 'GetMask', HEAD: 'GetMask', POST: 'PostMask', DELETE: 'DeleteMask',
  PUT: 'PutMask', PATCH: 'PutMask', PROPFIND: 'PutMask', PROPPATCH: 'PutMask', MKCOL: 'PutMask',
  COPY: 'PutMask', MOVE: 'PutMask', LOCK: 'PutMask', UNLOCK: 'PutMask',
});
const MASKS = ['GetMask', 'PostMask', 'PutMask', 'DeleteMask'];

/** How often (ms) the password and group files are looked at for changes. */
export const RECHECK_MS = 1000;
/** Verified credentials kept per realm; the least recently used go first. */
export const VERIFIED_MAX = 1000;

/** `All` (any user of the PasswordFile), user names and group names. */
export class Mask {
  readonly all: boolean;
  readonly names: ReadonlySet<string>;

  constructor(text: string) {
    const names = text.split(/[\s,]+/).filter((n) => n !== '');
    this.all = names.some((n) => n.toLowerCase() === 'all');
    this.names = new Set(names.filter((n) => n.toLowerCase() !== 'all'));
  }

  allows(user: string, groups: ReadonlyMap<string, ReadonlySet<string>>): boolean {
    if (this.all || this.names.has(user)) return true;
    for (const name of this.names) if (groups.get(name)?.has(user) === true) return true;
    return false;
  }
}

interface Tables {
  users: ReadonlyMap<string, string>;
  groups: ReadonlyMap<string, ReadonlySet<string>>;
  /** mtime, size and inode of each file, to see a change. */
  signature: string;
}

export class Realm {
  /** The Protection block's name. */
  readonly id: string;
  /** ServerId: the realm of the challenge. */
  readonly realm: string;
  readonly passwordFile: string;
  readonly groupFile: string | undefined;
  readonly #masks: ReadonlyMap<string, Mask>;
  readonly #log: (line: string) => void;
  #tables: Tables;
  /** Counts the times the tables were replaced: a check that awaited compares it. */
  #generation = 0;
  #checkedAt: number;
  #checking: Promise<void> | null = null;
  /** HMAC of a token → the user it verified, in use order. */
  readonly #verified = new Map<string, string>();

  private constructor(protection: Protection, files: { password: string; group: string | undefined }, masks: Map<string, Mask>, tables: Tables, now: number, log: (line: string) => void) {
    this.id = protection.name;
    this.realm = protection.fields.ServerId!;
    this.passwordFile = files.password;
    this.groupFile = files.group;
    this.#masks = masks;
    this.#tables = tables;
    this.#checkedAt = now;
    this.#log = log;
  }

  /**
   * Reads the block's files and checks everything it says; every problem
   * goes to `errors` (the block's line, or the password file's own line),
   * and the realm is returned only when there is none.
   */
  static async load(protection: Protection, errors: RuleError[], now: number, log: (line: string) => void): Promise<Realm | undefined> {
    const f = protection.fields;
    const at = { file: protection.file, line: protection.line, directive: 'Protection' };
    const before = errors.length;
    const report = (message: string) => errors.push({ ...at, message: `${message} in block "${protection.name}"` });
    if (f.AuthType?.toLowerCase() !== 'basic') report(`AuthType: expected Basic, got ${f.AuthType === undefined ? 'none' : `"${f.AuthType}"`}`);
    if (f.ServerId === undefined) report('ServerId: expected the realm name');
    else if (!/^[\x20-\x7e]+$/.test(f.ServerId)) report('ServerId: expected printable ASCII');
    for (const key of ['ACLOverride', 'MaskGroup']) if (f[key] !== undefined) report(`${key}: not supported (use GetMask, PostMask, PutMask, DeleteMask)`);
    const masks = new Map<string, Mask>();
    for (const key of MASKS) if (f[key] !== undefined) masks.set(key, new Mask(f[key]));
    if (masks.size === 0) report('expected at least one of GetMask, PostMask, PutMask, DeleteMask (a method without a mask is open)');
    if (f.PasswordFile === undefined) {
      report('PasswordFile: expected the file of users and bcrypt hashes');
      return undefined;
    }
    // Relative to the rule file: a password file has no business inside the tree the server serves.
    const base = dirname(resolve(protection.file));
    const files = { password: resolve(base, f.PasswordFile), group: f.GroupFile === undefined ? undefined : resolve(base, f.GroupFile) };
    let tables: Tables;
    try {
      tables = await readTables(files.password, files.group, (file, p) => errors.push({ file, line: p.line, directive: file === files.password ? 'PasswordFile' : 'GroupFile', message: p.message }));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { file: string };
      report(`${e.file === files.password ? 'PasswordFile' : 'GroupFile'}: cannot read "${e.file}" (${e.code ?? e.message})`);
      return undefined;
    }
    for (const [key, mask] of masks) {
      for (const name of mask.names) {
        if (!tables.users.has(name) && !tables.groups.has(name)) report(`${key}: "${name}" is no user of the PasswordFile, no group of the GroupFile, nor All`);
      }
    }
    if (errors.length > before) return undefined;
    return new Realm(protection, files, masks, tables, now, log);
  }

  /** The mask of `method`; undefined when the block sets none for it (the method is open). */
  maskFor(method: string): Mask | undefined {
    const key = MASK_OF[method];
    return key === undefined ? undefined : this.#masks.get(key);
  }

  get generation(): number {
    return this.#generation;
  }

  get groups(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#tables.groups;
  }

  hashOf(user: string): string | undefined {
    return this.#tables.users.get(user);
  }

  /** A hash to check unknown users against, so that they cost what known ones do. */
  get decoy(): string | undefined {
    return this.#tables.users.values().next().value;
  }

  verified(key: string): string | undefined {
    const user = this.#verified.get(key);
    if (user !== undefined) {
      this.#verified.delete(key);
      this.#verified.set(key, user);
    }
    return user;
  }

  remember(key: string, user: string): void {
    if (this.#verified.size >= VERIFIED_MAX) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, user);
  }

  get verifiedCount(): number {
    return this.#verified.size;
  }

  /** null when the files were looked at less than a second ago, else the look (never rejects). */
  recheck(now: number): Promise<void> | null {
    if (this.#checking !== null) return this.#checking;
    if (now - this.#checkedAt < RECHECK_MS) return null;
    this.#checkedAt = now;
    this.#checking = this.#reread().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #reread(): Promise<void> {
    let signature: string;
    try {
      signature = await signatureOf(this.passwordFile, this.groupFile);
    } catch {
      signature = 'unreadable';
    }
    if (signature === this.#tables.signature) return;
    try {
      // Lines that do not parse are left out: their users cannot log in until the file is fixed.
      this.#tables = await readTables(this.passwordFile, this.groupFile, (file, p) => this.#log(`${file}:${p.line}: ${p.message} (line ignored)`));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { file: string };
      this.#log(`${e.file}: cannot read (${e.code ?? e.message}): nobody may log in to realm "${this.realm}"`);
      this.#tables = { users: new Map(), groups: new Map(), signature };
    }
    this.#verified.clear();
    this.#generation++;
  }
}

async function signatureOf(password: string, group: string | undefined): Promise<string> {
  const one = async (file: string) => {
    const s = await stat(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  };
  return group === undefined ? one(password) : `${await one(password)}|${await one(group)}`;
}

/** Both files read and parsed; a read error is thrown with its `file`. */
async function readTables(password: string, group: string | undefined, problem: (file: string, p: FileProblem) => void): Promise<Tables> {
  const read = (file: string) => readFile(file, 'utf8').catch((err: Error) => Promise.reject(Object.assign(err, { file })));
  // The signature first: a change made while reading is seen at the next look.
  const signature = await signatureOf(password, group).catch(() => 'unreadable');
  const p = parsePasswordFile(await read(password));
  for (const x of p.problems) problem(password, x);
  const g = group === undefined ? { groups: new Map<string, ReadonlySet<string>>(), problems: [] } : parseGroupFile(await read(group));
  for (const x of g.problems) problem(group!, x);
  return { users: p.users, groups: g.groups, signature };
}
