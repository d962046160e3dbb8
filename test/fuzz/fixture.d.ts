// Types of fixture.js for the vitest files.

export const RULES: string;
export const WIRE: { headerTimeout: number; bodyTimeout: number; keepAliveTimeout: number; writeTimeout: number };
export const FILE: { cacheMaxFile: number; cacheMaxTotal: number; watch: null };
export function makeFuzzRoot(): { base: string; root: string; upload: string; files: Record<string, Buffer>; cleanup(): void };
export function temporaries(dir: string): string[];
export function clearUploads(dir: string): void;
export function rulesFor(upstreamPort?: number): string;
export function startUpstream(): Promise<{ port: number; close(): Promise<void> }>;
export interface CachedResource { body: Buffer; etag: string; cc: string; type: string; chunked?: boolean; cutAt?: number }
export const CACHED: Record<string, CachedResource>;
export const BIG: string[];
export const VARY: { path: string; identity: Buffer; gzip: Buffer; etags: { identity: string; gzip: string }; variant(ae: string | undefined): 'gzip' | 'identity' };
export const API_BIG: { target: string; upstream: string; body: Buffer };
