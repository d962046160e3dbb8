// Types of fixture.js for the vitest files.

export const RULES: string;
export const WIRE: { headerTimeout: number; bodyTimeout: number; keepAliveTimeout: number; writeTimeout: number };
export const FILE: { cacheMaxFile: number; cacheMaxTotal: number; watch: null };
export function makeFuzzRoot(): { base: string; root: string; upload: string; files: Record<string, Buffer>; cleanup(): void };
export function temporaries(dir: string): string[];
export function clearUploads(dir: string): void;
