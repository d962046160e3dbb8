// Path safety of the FILE module (libwww HTFile's HTLocalName, hardened the
// way `send` and nginx are): from the `file:` address a Pass rule produced
// to a real path that is certainly inside the rule's root. The request path
// was percent-decoded once by the rules (src/rules/decode-path.ts) and is
// never decoded again here: fileURLToPath only undoes the encoding that
// pathToFileURL added when the rules built the address.

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, fromOsError } from '../src/errors.js';
import { isInsideRoot } from '../src/rules/index.js';
import type { FileSystem } from './file-options.js';

/** A request's target on disk, before any file system call. */
export interface LocalName {
  /** Absolute, normalised, without a trailing slash (except `/`). */
  readonly file: string;
  /** The root the rule passed, normalised. */
  readonly root: string;
  /** The address ended with '/': only a directory may answer. */
  readonly slash: boolean;
}

const notFound = (detail?: string): HttpError => new HttpError('WWW_ERR_FILE_NOT_FOUND', detail);

/** Whether a name is hidden by the dotfile policy: `.well-known` (RFC 8615) never is. */
export function isDotName(name: string): boolean {
  return name.charCodeAt(0) === 0x2e && name !== '.well-known';
}

/**
 * The local name of an address, lexically confined to `root`. Throws
 * 400 for a NUL (decodePath already refuses one; this is defence in depth),
 * 404 for an encoded slash (`%2F` stays literal through the rules), a
 * backslash (a Windows separator in a name is never what a URL meant), a
 * path outside the root, or a dot-segment name under the 'deny' policy.
 */
export function localName(address: string, root: string | null, dotfiles: 'deny' | 'allow'): LocalName {
  if (root === null) throw new HttpError('WWW_ERR_FILE_FORBIDDEN', 'no root for this address');
  let file: string;
  try {
    file = fileURLToPath(address);
  } catch {
    throw notFound();
  }
  if (file.includes('\0')) throw new HttpError('WWW_ERR_PARSE_PATH', 'NUL in path');
  if (file.includes('\\') || /%2f/i.test(file)) throw notFound();
  const slash = file.length > 1 && file.endsWith('/');
  file = path.resolve(file);
  const base = path.resolve(root);
  if (!isInsideRoot(file, base)) throw notFound();
  if (dotfiles === 'deny' && file.length > base.length) {
    const rel = file.slice(base === '/' ? 1 : base.length + 1);
    for (const segment of rel.split('/')) if (isDotName(segment)) throw notFound();
  }
  return { file, root: base, slash };
}

/**
 * The realpath of a root, resolved on each use (in parallel with the file's
 * own): a root that is a symlink swapped by a deploy (`current` →
 * `releases/v2`) is followed at once, never after a restart. A hit of the
 * memory cache never asks; a cached document under such a root watches the
 * directory holding the link (file-watch.ts `dependencies`).
 */
export class RealRoots {
  readonly #fs: FileSystem;

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  get(root: string): Promise<string> {
    return this.#fs.realpath(root).then(String, () => root);
  }
}

/**
 * The real path of `name`, followed through symlinks only while it stays
 * inside the real root: a link that leaves it is a 404, as if absent
 * (nginx `disable_symlinks if_not_owner` is stricter; send does not check).
 */
export async function confine(fs: FileSystem, roots: RealRoots, name: LocalName): Promise<string> {
  const [realRoot, real] = await Promise.all([
    roots.get(name.root),
    fs.realpath(name.file).then(String, (err: unknown) => {
      throw fromOsError(err);
    }),
  ]);
  if (!isInsideRoot(real, realRoot)) throw notFound('outside the root');
  return real;
}

/**
 * For a write: the real parent directory (which must exist: 409 otherwise,
 * RFC 9110 §9.3.4) and the final path inside it. The last component is not
 * followed: PUT replaces a symlink, DELETE removes it, never its target.
 */
export async function confineParent(fs: FileSystem, roots: RealRoots, name: LocalName): Promise<{ dir: string; file: string; base: string }> {
  const base = path.basename(name.file);
  if (name.file === name.root || name.slash) throw new HttpError('WWW_ERR_FILE_CONFLICT', 'the target is a directory');
  const parent = path.dirname(name.file);
  const [realRoot, dir] = await Promise.all([
    roots.get(name.root),
    fs.realpath(parent).then(String, (err: unknown) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new HttpError('WWW_ERR_FILE_CONFLICT', undefined, { cause: err });
      throw fromOsError(err);
    }),
  ]);
  if (!isInsideRoot(dir, realRoot)) throw notFound('outside the root');
  if (!(await fs.stat(dir)).isDirectory()) throw new HttpError('WWW_ERR_FILE_CONFLICT', 'the parent is not a directory');
  return { dir, file: path.join(dir, base), base };
}
