// The public API: create a server, load rules, register converters and
// protocols, the error table and the types. Everything else is internal.

export { Server } from './server.js';
export type { ServerOptions } from './server.js';
export { HttpServer, DEFAULT_WIRE } from '../protocols/http-server.js';
export type { WireOptions, Handler } from '../protocols/http-server.js';
export { FileProtocol } from '../protocols/file.js';
export { NetManager } from './net.js';
export type { Protocol } from './net.js';
export { Request } from './request.js';
export { Anchor, AnchorTable } from './anchor.js';
export type { Reply, ReplyHeaders } from './reply.js';
export { errorReply, textReply } from './reply.js';
export { makeFormat, contentType } from './format.js';
export type { Format } from './format.js';
export type { Converter, ConverterContext } from './converter.js';
export { ConverterRegistry } from './registry.js';
export { stackReply } from './stack.js';
export { loadPlugin } from './plugins.js';
export { builtins, registerBuiltins } from '../converters/index.js';
export { parseRules, loadRules, defaultRules, decodePath, RuleFileError } from './rules/index.js';
export type { RuleSet, Translation } from './rules/index.js';
export { ERRORS, HttpError, fromOsError } from './errors.js';
export type { ErrorCode } from './errors.js';
