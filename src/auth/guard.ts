// Guard: what enforces the Protect rules of one rule set (CERN httpd
// HTAAServ.c). For a request whose path a Protect template matches, and whose
// method has a mask in the Protection block, it checks the Basic credentials
// (RFC 7617) against the block's PasswordFile and the mask: 401 with a
// challenge when they are missing or wrong, 403 for a user the mask leaves
// out, 429 for an address with too many failures. A bcrypt check costs tens
// of milliseconds, so a verified credential is remembered, keyed by an HMAC
// of its token (never the password). A restart builds new rules, and with
// them a new Guard: nothing verified survives it.

import { createHmac, randomBytes } from 'node:crypto';
import type { ProtectRule, RuleSet } from '../rules/types.js';
import { RuleFileError, type RuleError } from '../rules/rule-file-error.js';
import type { Request } from '../request.js';
import type { Reply } from '../reply.js';
import { errorReply } from '../reply.js';
import { HttpError } from '../errors.js';
import { challenge, isBasic, parseBasic, type Credentials } from './basic.js';
import { FailureLimiter, type LimiterOptions } from './rate-limit.js';
import { Realm, type Mask } from './realm.js';

export interface GuardOptions extends LimiterOptions {
  /** bcrypt's check (default bcryptjs's async compare, which yields to the event loop). */
  compare?: (password: string, hash: string) => Promise<boolean>;
  /** The clock, in ms. */
  now?: () => number;
  /** Where problems found while serving go (a password file that became unreadable). */
  log?: (line: string) => void;
}

/** A decision now, or once the password check is done; null: go on with the request. */
export type Decision = Reply | null | Promise<Reply | null>;

/** The HMAC key of the verified-credential caches: random, and never leaves the process. */
const KEY = randomBytes(32);

const guards = new WeakMap<RuleSet, Guard | Promise<Guard>>();

export class Guard {
  readonly #realms: ReadonlyMap<string, Realm>;
  readonly #limiter: FailureLimiter;
  readonly #compare: (password: string, hash: string) => Promise<boolean>;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  /** The bcrypt checks under way, by the key of their token. */
  readonly #checking = new Map<string, Promise<boolean>>();

  constructor(realms: ReadonlyMap<string, Realm>, options: GuardOptions, log: (line: string) => void) {
    this.#realms = realms;
    this.#limiter = new FailureLimiter(options);
    this.#compare = options.compare ?? bcryptCompare;
    this.#now = options.now ?? Date.now;
    this.#log = log;
  }

  /** The realm of a Protection block, by its name. */
  realm(name: string): Realm | undefined {
    return this.#realms.get(name);
  }

  authorize(request: Request, rule: ProtectRule): Decision {
    const realm = this.#realms.get(rule.setup)!;
    const mask = realm.maskFor(request.method);
    const field = request.headers.authorization;
    if (mask === undefined) {
      // An open method of a protected path: Basic credentials there are still the realm's, never an upstream's.
      if (field !== undefined && isBasic(field)) consume(request);
      return null;
    }
    if (field === undefined) return unauthorized(request, realm);
    const address = request.remoteAddress;
    const now = this.#now();
    const wait = this.#limiter.blockedFor(address, now);
    if (wait > 0) {
      return errorReply(request.fail(new HttpError('WWW_ERR_AUTH_RATE', undefined, { headers: { 'Retry-After': String(wait) } })));
    }
    const credentials = parseBasic(field);
    if (credentials === null) return this.#failed(request, realm);
    const recheck = realm.recheck(now);
    if (recheck !== null) return recheck.then(() => this.#verify(request, realm, mask, credentials));
    return this.#verify(request, realm, mask, credentials);
  }

  #verify(request: Request, realm: Realm, mask: Mask, credentials: Credentials): Decision {
    // The realm is part of the key: a token verified in one realm proves nothing in another.
    const key = createHmac('sha256', KEY).update(realm.id).update('\0').update(credentials.token).digest('base64');
    // A lookup by a keyed digest: its timing tells nothing of a token the client could not compute itself.
    const known = realm.verified(key);
    if (known !== undefined) return decide(request, realm, mask, known);
    const hash = realm.hashOf(credentials.user);
    const decoy = hash ?? realm.decoy;
    if (decoy === undefined) return this.#failed(request, realm);
    const generation = realm.generation;
    // Parallel requests with one new token (a browser's first page and its assets) share one check.
    let check = this.#checking.get(key);
    if (check === undefined) {
      check = this.#compare(credentials.password, decoy);
      this.#checking.set(key, check);
      const forget = () => void this.#checking.delete(key);
      check.then(forget, forget);
    }
    return check.then(
      (ok) => {
        // The files may have been read again meanwhile: check against what they say now.
        if (realm.generation !== generation) return this.#verify(request, realm, mask, credentials);
        if (!ok || hash === undefined) return this.#failed(request, realm);
        realm.remember(key, credentials.user);
        return decide(request, realm, mask, credentials.user);
      },
      (err: unknown) => {
        this.#log(`password check failed in realm "${realm.realm}": ${(err as Error)?.message ?? String(err)}`);
        return errorReply(request.fail(new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err })));
      },
    );
  }

  #failed(request: Request, realm: Realm): Reply {
    this.#limiter.fail(request.remoteAddress, this.#now());
    return unauthorized(request, realm);
  }
}

function unauthorized(request: Request, realm: Realm): Reply {
  // Nothing of the credentials goes into the error: no user name, no detail.
  return errorReply(request.fail(new HttpError('WWW_ERR_AUTH_REQUIRED', undefined, { headers: { 'WWW-Authenticate': challenge(realm.realm) } })));
}

function decide(request: Request, realm: Realm, mask: Mask, user: string): Reply | null {
  if (!mask.allows(user, realm.groups)) return errorReply(request.fail(new HttpError('WWW_ERR_AUTH_FORBIDDEN')));
  consume(request);
  return null;
}

/** The credentials were for us: they never go further (to an upstream, a log of headers). */
function consume(request: Request): void {
  delete request.headers.authorization;
  const raw = request.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if (raw[i]!.toLowerCase() === 'authorization') raw.splice(i, 2);
}

/**
 * Reads and checks the files of every Protection block a Protect rule names,
 * and makes the Guard of `rules`. Throws a RuleFileError listing every
 * problem: an AuthType other than Basic, a missing ServerId or PasswordFile,
 * a password file line that is not `user:bcrypt-hash`, a mask naming nobody.
 */
export async function loadGuard(rules: RuleSet, options: GuardOptions = {}): Promise<Guard> {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => void process.stderr.write(`streamstack: ${line}\n`));
  const errors: RuleError[] = [];
  const realms = new Map<string, Realm>();
  for (const p of rules.protections) {
    if (p.protection === undefined) {
      errors.push({ file: p.file, line: p.line, directive: 'Protect', message: `protection setup files are not supported, got "${p.setup}" (name a Protection block)` });
    } else if (!realms.has(p.setup)) {
      const realm = await Realm.load(p.protection, errors, now(), log);
      if (realm !== undefined) realms.set(p.setup, realm);
    }
  }
  if (errors.length > 0) throw new RuleFileError(errors);
  const guard = new Guard(realms, options, log);
  guards.set(rules, guard);
  return guard;
}

/**
 * The Protect rules of `rules` applied to a request whose path is
 * translated and whose method is allowed: null to go on, else the reply.
 * Rules from loadRules come with their Guard; others (parseRules) get theirs
 * at their first protected request, and a problem then is a 500.
 */
/** Checks `request` against `rule`, the Protect rule of its path (the route knows it), if any. */
export function authorize(request: Request, rules: RuleSet, rule: ProtectRule | undefined): Decision {
  if (rule === undefined) return null;
  let guard = guards.get(rules);
  if (guard instanceof Guard) return guard.authorize(request, rule);
  if (guard === undefined) {
    guard = loadGuard(rules);
    // Said once, not at every request the broken setup refuses.
    guard.catch((err: unknown) => void process.stderr.write(`streamstack: Protect not enforceable, its paths answer 500:\n${(err as Error).message}\n`));
    guards.set(rules, guard);
  }
  return guard.then(
    (g) => g.authorize(request, rule),
    (err: unknown) => errorReply(request.fail(new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err }))),
  );
}

/** bcryptjs, loaded with the first credential to check: a server without Protect never loads it. */
let bcrypt: Promise<typeof import('bcryptjs')> | null = null;
function bcryptCompare(password: string, hash: string): Promise<boolean> {
  bcrypt ??= import('bcryptjs');
  return bcrypt.then((m) => (m.default ?? m).compare(password, hash));
}
