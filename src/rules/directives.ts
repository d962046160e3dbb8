// The directives a rule file may hold, as data (CERN httpd HTConfig.c's
// directive table): name, usage, argument counts, and what each adds to the
// Draft. Every check that needs only the line itself is made here, so that
// one pass over the file reports every error.

import { isIP } from 'node:net';
import type { Draft } from './draft.js';
import { stars, type Word } from './lexer.js';
import { UrlTarget } from './targets.js';
import { Template } from './template.js';
import { compileAuthority } from './authority.js';
import type { RedirectStatus, ServerSettings } from './types.js';
import {
  Expected, quote, parseCount, parseDuration, parseFileName, parseMediaType, parseMethod, parseOnOff,
  parseOrigin, parsePort, parseQuality, parseSize, parseSuffix, parseToken, parseWorkers,
} from './values.js';

export interface DirectiveContext {
  readonly line: number;
  error(message: string): void;
}

export interface Directive {
  /** Canonical spelling, used in messages. */
  readonly name: string;
  /** The arguments, for `expected …` messages. */
  readonly usage: string;
  readonly min: number;
  readonly max: number;
  apply(args: readonly Word[], draft: Draft, ctx: DirectiveContext): void;
}

/** The value, or undefined after reporting what was expected. */
function check<T>(v: T | Expected, ctx: DirectiveContext): T | undefined {
  if (v instanceof Expected) {
    ctx.error(v.message);
    return undefined;
  }
  return v;
}

/** A document path (Fallback, ErrorPage): absolute, no dot-segment, no query, not a directory. */
const DOCUMENT_PATH = /^\/[^?#\s]*[^/?#\s]$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

const template = (w: Word) => new Template(w.parts, w.pattern);

/** A RESULT's pieces, or undefined if it has more wildcards than its template. */
function result(tmpl: Word, res: Word, ctx: DirectiveContext): readonly string[] | undefined {
  if (stars(res) > stars(tmpl)) {
    ctx.error(`RESULT ${quote(res.pattern)} has ${stars(res)} * but TEMPLATE ${quote(tmpl.pattern)} has ${stars(tmpl)}`);
    return undefined;
  }
  return res.parts;
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

function parseRedirectStatus(text: string): RedirectStatus | Expected {
  const n = /^\d{3}$/.test(text) ? Number(text) : NaN;
  if (!REDIRECT_STATUS.has(n)) return new Expected(`expected a status of 301, 302, 303, 307 or 308, got ${quote(text)}`);
  return n as RedirectStatus;
}

function parseHost(text: string): string | Expected {
  const host = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
  if (isIP(host) !== 0 || new RegExp(`^${label}(?:\\.${label})*$`).test(host)) return host;
  return new Expected(`expected an IP address or a host name, got ${quote(text)}`);
}

type Limit = Exclude<keyof ServerSettings, 'serverRoot' | 'port' | 'host' | 'maxBodySize' | 'proxyCA' | 'proxyHost' | 'trustProxy'
  | 'accessLog' | 'logFormat' | 'statusPath' | 'tlsCertificate' | 'tlsKey' | 'errorPages' | 'workers'>;

/** The settings a `limit` directive sets: numbers (ProxyCacheDir is a path). */
type NumberSetting = Exclude<Limit, 'proxyCacheDir'>;

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`: the peers a TrustProxy names. */
function parseAddressOrCidr(text: string): string | Expected {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  const prefix = slash === -1 ? '' : text.slice(slash + 1);
  if (family !== 0 && (slash === -1 || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)))) return text;
  return new Expected(`expected an IP address or a CIDR block like 10.0.0.0/8, got ${quote(text)}`);
}

function limit(name: string, key: NumberSetting, parse: (t: string) => number | Expected, usage: string): Directive {
  return {
    name, usage, min: 1, max: 1,
    apply([w], d, ctx) {
      const v = check(parse(w!.text), ctx);
      if (v !== undefined) d.settings[key] = v;
    },
  };
}

function suffixRule(name: string, list: 'encodings' | 'charsets', what: string): Directive {
  return {
    name, usage: `.SUFFIX ${what.toUpperCase()}`, min: 2, max: 2,
    apply([suf, value], d, ctx) {
      const suffix = check(parseSuffix(suf!.text), ctx);
      const v = check(parseToken(value!.text, `a ${what} name`), ctx);
      if (suffix !== undefined && v !== undefined) d[list].push({ suffix, value: v });
    },
  };
}

const LIST: Directive[] = [
  // Translation.
  {
    name: 'Map', usage: 'TEMPLATE RESULT', min: 2, max: 2,
    apply([t, r], d, ctx) {
      const res = result(t!, r!, ctx);
      if (res) d.translation.push({ op: 'map', template: template(t!), result: res, line: ctx.line });
    },
  },
  {
    name: 'Pass', usage: 'TEMPLATE [RESULT]', min: 1, max: 2,
    apply([t, r], d, ctx) {
      const res = r === undefined ? null : result(t!, r, ctx);
      if (res !== undefined) d.translation.push({ op: 'pass', template: template(t!), result: res, target: null, line: ctx.line });
    },
  },
  {
    name: 'Fail', usage: 'TEMPLATE', min: 1, max: 1,
    apply([t], d, ctx) {
      d.translation.push({ op: 'fail', template: template(t!), line: ctx.line });
    },
  },
  {
    name: 'Redirect', usage: 'TEMPLATE URL [STATUS]', min: 2, max: 3,
    apply([t, u, s], d, ctx) {
      const res = result(t!, u!, ctx);
      const target = res && check(UrlTarget.compile(res, true), ctx);
      const status = s === undefined ? 302 : check(parseRedirectStatus(s.text), ctx);
      if (target && status) d.translation.push({ op: 'redirect', template: template(t!), target, status, line: ctx.line });
    },
  },
  {
    name: 'Proxy', usage: 'TEMPLATE URL [URL…]', min: 2, max: 64,
    apply([t, ...urls], d, ctx) {
      const targets: UrlTarget[] = [];
      for (const u of urls) {
        const res = result(t!, u, ctx);
        const target = res && check(UrlTarget.compile(res, false), ctx);
        if (target) targets.push(target);
      }
      if (targets.length === urls.length) d.translation.push({ op: 'proxy', template: template(t!), targets, line: ctx.line });
    },
  },

  // Tunnels and the forward proxy: off unless a line names the destinations.
  {
    name: 'Tunnel', usage: 'HOST:PORT-TEMPLATE', min: 1, max: 1,
    apply([t], d, ctx) {
      const rule = check(compileAuthority(t!.parts, t!.pattern, 443), ctx);
      if (rule !== undefined) d.tunnel.push(rule);
    },
  },
  {
    name: 'Forward', usage: 'HOST[:PORT]-TEMPLATE', min: 1, max: 1,
    apply([t], d, ctx) {
      const rule = check(compileAuthority(t!.parts, t!.pattern, 80), ctx);
      if (rule !== undefined) d.forward.push(rule);
    },
  },

  // Server.
  {
    name: 'ServerRoot', usage: 'DIRECTORY', min: 1, max: 1,
    apply([w], d, ctx) {
      d.serverRoot = { dir: w!.text, line: ctx.line };
    },
  },
  {
    name: 'Port', usage: 'NUMBER', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = check(parsePort(w!.text), ctx);
      if (v !== undefined) d.settings.port = v;
    },
  },
  {
    name: 'Host', usage: 'ADDRESS', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = check(parseHost(w!.text), ctx);
      if (v !== undefined) d.settings.host = v;
    },
  },
  {
    name: 'MaxBodySize', usage: 'SIZE [TEMPLATE]', min: 1, max: 2,
    apply([s, t], d, ctx) {
      const size = check(parseSize(s!.text), ctx);
      if (size !== undefined) d.maxBodySize.push({ size, template: t === undefined ? null : template(t) });
    },
  },
  limit('MaxHeaderSize', 'maxHeaderSize', parseSize, 'SIZE'),
  limit('MaxPipeline', 'maxPipeline', parseCount, 'NUMBER'),
  limit('HeaderTimeout', 'headerTimeout', parseDuration, 'DURATION'),
  limit('KeepAliveTimeout', 'keepAliveTimeout', parseDuration, 'DURATION'),
  limit('BodyTimeout', 'bodyTimeout', parseDuration, 'DURATION'),
  limit('WriteTimeout', 'writeTimeout', parseDuration, 'DURATION'),
  limit('CacheMaxFile', 'cacheMaxFile', parseSize, 'SIZE'),
  limit('CacheSize', 'cacheMaxTotal', parseSize, 'SIZE'),
  limit('ProxyConnectTimeout', 'proxyConnectTimeout', parseDuration, 'DURATION'),
  limit('ProxyHeadTimeout', 'proxyHeadTimeout', parseDuration, 'DURATION'),
  limit('ProxyBodyTimeout', 'proxyBodyTimeout', parseDuration, 'DURATION'),
  limit('ProxyIdleTimeout', 'proxyIdleTimeout', parseDuration, 'DURATION'),
  limit('ProxyMaxConnections', 'proxyMaxConnections', parseCount, 'NUMBER'),
  // The HTTP cache of proxied responses (src/http-cache/).
  {
    name: 'ProxyCache', usage: 'TEMPLATE', min: 1, max: 1,
    apply([t], d, ctx) {
      d.proxyCache.push({ template: template(t!), value: true, line: ctx.line });
    },
  },
  limit('ProxyCacheSize', 'proxyCacheSize', parseSize, 'SIZE'),
  {
    name: 'ProxyCacheDir', usage: 'DIRECTORY [SIZE]', min: 1, max: 2,
    apply([w, s], d, ctx) {
      // Resolved against ServerRoot once the whole file is read.
      const size = s === undefined ? undefined : check(parseSize(s.text), ctx);
      if (s !== undefined && size === undefined) return;
      d.settings.proxyCacheDir = w!.text;
      if (size !== undefined) d.settings.proxyCacheDirSize = size;
    },
  },
  {
    name: 'ProxyCA', usage: 'FILE', min: 1, max: 1,
    apply([w], d, ctx) {
      // Resolved against ServerRoot once the whole file is read; loadRules checks that it can be read.
      d.proxyCA = { file: w!.text, line: ctx.line };
    },
  },
  {
    name: 'ProxyHost', usage: 'client|upstream', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = w!.text.toLowerCase();
      if (v === 'client' || v === 'upstream') d.settings.proxyHost = v;
      else ctx.error(`expected client or upstream, got ${quote(w!.text)}`);
    },
  },
  {
    name: 'TrustProxy', usage: 'ADDRESS|CIDR…', min: 1, max: 64,
    apply(words, d, ctx) {
      for (const w of words) {
        const v = check(parseAddressOrCidr(w.text), ctx);
        if (v !== undefined) d.settings.trustProxy = [...(d.settings.trustProxy ?? []), v];
      }
    },
  },
  limit('GraceTimeout', 'graceTimeout', parseDuration, 'DURATION'),
  {
    name: 'Workers', usage: 'NUMBER|auto', min: 1, max: 1,
    apply([w], d, ctx) {
      // Read once at start (src/workers.ts); `auto` is resolved there, to the CPUs of the machine it runs on.
      const v = check(parseWorkers(w!.text), ctx);
      if (v !== undefined) d.settings.workers = v;
    },
  },
  {
    name: 'AccessLog', usage: 'FILE|-', min: 1, max: 1,
    apply([w], d) {
      // Resolved against ServerRoot once the whole file is read.
      d.settings.accessLog = w!.text;
    },
  },
  {
    name: 'LogFormat', usage: 'common|combined|json', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = w!.text.toLowerCase();
      if (v === 'common' || v === 'combined' || v === 'json') d.settings.logFormat = v;
      else ctx.error(`expected common, combined or json, got ${quote(w!.text)}`);
    },
  },
  // TLS: read at start and on SIGHUP; relative to the rule file's directory, like a PasswordFile.
  {
    name: 'TLSCertificate', usage: 'FILE', min: 1, max: 1,
    apply([w], d) {
      d.settings.tlsCertificate = w!.text;
    },
  },
  {
    name: 'TLSKey', usage: 'FILE', min: 1, max: 1,
    apply([w], d) {
      d.settings.tlsKey = w!.text;
    },
  },
  limit('RedirectHTTP', 'redirectHttp', parsePort, 'PORT'),
  {
    name: 'Status', usage: 'PATH', min: 1, max: 1,
    apply([w], d, ctx) {
      // A literal path, compared with the decoded request path (src/status.ts).
      if (!/^\/[\x21-\x7e]*$/.test(w!.text) || stars(w!) > 0) ctx.error(`expected a path like /server-status, without '*', got ${quote(w!.text)}`);
      else d.settings.statusPath = w!.text;
    },
  },
  {
    name: 'OutputCharset', usage: 'CHARSET', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = check(parseToken(w!.text, 'a charset name'), ctx);
      if (v !== undefined) d.outputCharset = v;
    },
  },

  // Resources.
  {
    name: 'AddType', usage: '.SUFFIX TYPE [ENCODING [QUALITY]]', min: 2, max: 4,
    apply([suf, type, enc, q], d, ctx) {
      const suffix = check(parseSuffix(suf!.text), ctx);
      const t = check(parseMediaType(type!.text), ctx);
      const encoding = enc && check(parseToken(enc.text, 'an encoding like 8bit, binary or gzip'), ctx);
      const quality = q && check(parseQuality(q.text), ctx);
      if (suffix === undefined || t === undefined || (enc && encoding === undefined) || (q && quality === undefined)) return;
      d.types.push({ suffix, value: { type: t, ...(encoding && { encoding }), ...(quality !== undefined && { quality }) } });
    },
  },
  suffixRule('AddEncoding', 'encodings', 'coding'),
  suffixRule('AddCharset', 'charsets', 'charset'),
  {
    name: 'Welcome', usage: 'FILENAME', min: 1, max: 1,
    apply([w], d, ctx) {
      const name = check(parseFileName(w!.text), ctx);
      if (name !== undefined) (d.welcome ??= []).push(name);
    },
  },
  {
    name: 'AlwaysWelcome', usage: 'On|Off', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = check(parseOnOff(w!.text), ctx);
      if (v !== undefined) d.alwaysWelcome = v;
    },
  },
  {
    name: 'DirAccess', usage: 'On|Off|Selective', min: 1, max: 1,
    apply([w], d, ctx) {
      const v = w!.text.toLowerCase();
      if (v === 'on' || v === 'off' || v === 'selective') d.dirAccess = v;
      else ctx.error(`expected On, Off or Selective, got ${quote(w!.text)}`);
    },
  },
  {
    name: 'Enable', usage: 'METHOD TEMPLATE', min: 2, max: 2,
    apply([m, t], d, ctx) {
      const method = check(parseMethod(m!.text), ctx);
      if (method !== undefined) d.enable.push({ template: template(t!), value: method, line: ctx.line });
    },
  },
  {
    name: 'Protect', usage: 'TEMPLATE SETUP', min: 2, max: 2,
    apply([t, s], d, ctx) {
      d.protect.push({ template: template(t!), value: s!.text, line: ctx.line });
    },
  },
  // The block itself is read by the parser; this entry checks the opening line.
  { name: 'Protection', usage: 'NAME {', min: 2, max: 2, apply() {} },
  {
    name: 'Converter', usage: 'MODULE [QUALITY]', min: 1, max: 2,
    apply([m, q], d, ctx) {
      const quality = q && check(parseQuality(q.text), ctx);
      if (q && quality === undefined) return;
      d.converters.push({ module: m!.text, ...(quality !== undefined && { quality }), line: ctx.line });
    },
  },
  {
    name: 'CacheControl', usage: 'TEMPLATE VALUE', min: 2, max: 2,
    apply([t, v], d, ctx) {
      // RFC 9110 §5.5: a field value is visible characters, spaces and tabs.
      if (!/^[\t\x20-\x7e]+$/.test(v!.text)) ctx.error(`expected a Cache-Control value like "public, max-age=3600", got ${quote(v!.text)}`);
      else d.cacheControl.push({ template: template(t!), value: v!.text, line: ctx.line });
    },
  },
  {
    name: 'Cors', usage: 'TEMPLATE ORIGIN|*', min: 2, max: 2,
    apply([t, o], d, ctx) {
      const origin = check(parseOrigin(o!.text), ctx);
      if (origin !== undefined) d.cors.push({ template: template(t!), value: origin, line: ctx.line });
    },
  },
  {
    name: 'Fallback', usage: 'TEMPLATE PATH', min: 2, max: 2,
    apply([t, p], d, ctx) {
      if (!DOCUMENT_PATH.test(p!.text) || DOT_SEGMENT.test(p!.text)) ctx.error(`expected the path of a document like /index.html, got ${quote(p!.text)}`);
      else d.fallback.push({ template: template(t!), value: p!.text, line: ctx.line });
    },
  },
  {
    // nginx's error_page: several statuses may share one document. Only
    // errors (4xx, 5xx): a 1xx, 2xx or 3xx is an answer, not an error.
    name: 'ErrorPage', usage: 'STATUS… PATH', min: 2, max: 33,
    apply(words, d, ctx) {
      const p = words[words.length - 1]!;
      const statuses: number[] = [];
      for (const w of words.slice(0, -1)) {
        if (/^[45]\d\d$/.test(w.text)) statuses.push(Number(w.text));
        else ctx.error(`expected an error status from 400 to 599, got ${quote(w.text)}`);
      }
      if (!DOCUMENT_PATH.test(p.text) || DOT_SEGMENT.test(p.text)) {
        ctx.error(`expected the path of a document like /404.html after the statuses, got ${quote(p.text)}`);
        return;
      }
      if (statuses.length !== words.length - 1) return;
      const pages: Record<number, string> = { ...d.settings.errorPages };
      for (const status of statuses) pages[status] = p.text;
      d.settings.errorPages = Object.freeze(pages);
    },
  },
];

/** By lower-case name. */
export const DIRECTIVES: ReadonlyMap<string, Directive> = new Map(LIST.map((d) => [d.name.toLowerCase(), d]));

/** The keys of a CERN httpd protection setup, by lower-case name. */
export const PROTECTION_KEYS: ReadonlyMap<string, string> = new Map(
  ['UserId', 'GroupId', 'AuthType', 'ServerId', 'PasswordFile', 'GroupFile', 'GetMask', 'PostMask', 'PutMask', 'DeleteMask', 'ACLOverride', 'MaskGroup']
    .map((k) => [k.toLowerCase(), k]),
);
