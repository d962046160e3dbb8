// The HTTP cache under workers (src/workers.ts). Each worker keeps its own
// memory tier and its own index of the one ProxyCacheDir; so that together
// they act as one cache, a worker tells the others, through the primary,
// what it changed:
//   { streamstack: 'cache', op: 'invalidate', key: URI }  every tier drops the URI's
//       responses (§4.4, or a HEAD that disagrees with them, §4.3.5)
//   { streamstack: 'cache', op: 'stored', key: NAME }     a file of the disk tier was
//       written: the others index it (and evict by it, so the bound holds for all)
//   { streamstack: 'cache', op: 'removed', key: NAME }    one was deleted (evicted,
//       replaced, broken): the others forget it, unless it is there again
// NAME is a file name in the directory, never a path. A worker never hears its
// own messages; one that starts later indexes the directory as it finds it.

/** What a worker's cache says to the others. */
export type CachePeers = (op: CacheOp, key: string) => void;

export type CacheOp = 'invalidate' | 'stored' | 'removed';

export interface CacheMessage {
  streamstack: 'cache';
  op: CacheOp;
  key: string;
}

export function isCacheMessage(m: unknown): m is CacheMessage {
  const c = m as Partial<CacheMessage> | null;
  return c?.streamstack === 'cache' && (c.op === 'invalidate' || c.op === 'stored' || c.op === 'removed') && typeof c.key === 'string';
}
