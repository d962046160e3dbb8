// Types of responses.js for the vitest files.

export interface ParsedResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: Buffer;
  interim: { status: number; headers: Record<string, string> }[];
  start: number;
  end: number;
  closeDelimited: boolean;
}

export function parseResponses(
  buf: Buffer,
  headKind?: (index: number) => 'yes' | 'no' | 'maybe',
  closed?: boolean,
): { responses: ParsedResponse[]; interim: unknown[]; error: string | null; incomplete: boolean; used: number };

export function hasToken(value: string | undefined, token: string): boolean;
