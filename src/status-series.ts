// The status page's time series: requests per second and latency
// percentiles over the last five minutes, in 10-second buckets.
//
// A fixed ring, allocated once: per bucket a reply count and a latency
// histogram of fixed bins. Recording a reply costs one clock read, a few
// comparisons to find its bin and two increments; nothing is allocated on
// the hot path. Percentiles are read from the histogram when the page is
// asked for, as the upper bound of the bin that holds the rank (the
// Prometheus histogram's way): exact to the millisecond below 6 ms, within
// about a quarter above. Latency is from the request's arrival to its last
// byte handed to the socket, at the millisecond resolution of
// Request.startedAt.

export const BUCKET_SECONDS = 10;
export const BUCKETS = 30;
const BUCKET_MS = BUCKET_SECONDS * 1000;

/** Upper bounds of the latency bins, in ms; the last bin holds everything slower. */
export const BOUNDS: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300, 400, 500,
  600, 800, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 15000, 20000, 30000, 60000,
];
const BINS = BOUNDS.length + 1;

/** The bin of a latency in ms: the first bound at or above it. */
export function binOf(ms: number): number {
  if (ms <= 6) return ms <= 0 ? 0 : Math.ceil(ms);
  let lo = 7;
  let hi = BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BOUNDS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One bucket as the JSON view shows it; percentiles are null where no request was timed. */
export interface SeriesPoint {
  /** When the bucket began (ISO 8601). */
  start: string;
  requests: number;
  /** Requests per second: the count over the bucket's length (over the time elapsed, for the current one). */
  rps: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface Series {
  bucketSeconds: number;
  /** Oldest first; the last is the current, partial bucket. */
  points: SeriesPoint[];
}

export class SeriesRing {
  /** Which bucket (time / BUCKET_MS) each slot holds now. */
  readonly #epoch = new Float64Array(BUCKETS).fill(-1);
  readonly #count = new Uint32Array(BUCKETS);
  readonly #hist = new Uint32Array(BUCKETS * BINS);
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** The slot of the bucket for `now`, cleared when it held an older bucket. */
  #slot(now: number): number {
    const epoch = Math.floor(now / BUCKET_MS);
    const slot = epoch % BUCKETS;
    if (this.#epoch[slot] !== epoch) {
      this.#epoch[slot] = epoch;
      this.#count[slot] = 0;
      this.#hist.fill(0, slot * BINS, slot * BINS + BINS);
    }
    return slot;
  }

  /** A reply written; `startedAt` is its request's arrival (ms), or -1 when there was no request to time. */
  record(startedAt: number): void {
    const now = this.#clock();
    const slot = this.#slot(now);
    this.#count[slot]!++;
    if (startedAt >= 0) this.#hist[slot * BINS + binOf(now - startedAt)]!++;
  }

  /** The last BUCKETS buckets up to now, oldest first; buckets without replies are zeros. */
  read(now: number = this.#clock()): Series {
    const current = Math.floor(now / BUCKET_MS);
    const points: SeriesPoint[] = [];
    for (let epoch = current - BUCKETS + 1; epoch <= current; epoch++) {
      const slot = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
      const held = this.#epoch[slot] === epoch;
      const requests = held ? this.#count[slot]! : 0;
      const seconds = epoch === current ? Math.max(1, (now - epoch * BUCKET_MS) / 1000) : BUCKET_SECONDS;
      const point: SeriesPoint = {
        start: new Date(epoch * BUCKET_MS).toISOString(),
        requests,
        rps: Math.round((requests / seconds) * 100) / 100,
        p50: null,
        p90: null,
        p99: null,
      };
      if (held) {
        const row = this.#hist.subarray(slot * BINS, slot * BINS + BINS);
        point.p50 = percentile(row, 0.5);
        point.p90 = percentile(row, 0.9);
        point.p99 = percentile(row, 0.99);
      }
      points.push(point);
    }
    return { bucketSeconds: BUCKET_SECONDS, points };
  }
}

/** The upper bound (ms) of the bin holding the q-quantile, or null for no samples; the open last bin reports its lower bound. */
function percentile(row: Uint32Array, q: number): number | null {
  let total = 0;
  for (let i = 0; i < row.length; i++) total += row[i]!;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < row.length; i++) {
    seen += row[i]!;
    if (seen >= rank) return BOUNDS[Math.min(i, BOUNDS.length - 1)]!;
  }
  return BOUNDS[BOUNDS.length - 1]!;
}
