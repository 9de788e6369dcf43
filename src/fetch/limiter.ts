/**
 * The reader's request queue: at most `limit()` requests in flight, pages SQLite is
 * waiting for before readahead. A queued readahead that SQLite comes to need is
 * promoted, so prefetch never makes a read wait for more than the requests already on
 * the wire. The limit is read at each start, so it can rise once the store says its
 * connection multiplexes (HTTP/2) without rebuilding the reader.
 *
 * Bounded: the queue holds only the requests of one statement's reads and readahead
 * windows (themselves bounded), and `stats()` reports its depth.
 */

export interface LimiterStats {
  inFlight: number;
  queuedDemand: number;
  queuedPrefetch: number;
  /** Most requests in flight at once so far. */
  maxInFlight: number;
  /** Queued readaheads SQLite came to need before they started. */
  promoted: number;
}

/** A queued or started task; `promote()` moves it ahead of readahead. */
export interface Ticket<T> {
  readonly promise: Promise<T>;
  promote(): void;
}

interface Entry {
  start(): void;
  prefetch: boolean;
  started: boolean;
}

export class Limiter {
  private readonly demand: Entry[] = [];
  private readonly prefetch: Entry[] = [];
  private running = 0;
  private maxRunning = 0;
  private promoted = 0;

  /** `limit`: requests in flight at once, read whenever one could start (at least 1). */
  constructor(private readonly limit: () => number) {}

  /** Runs `fn` when a slot is free: demand tasks first, readahead (`prefetch`) after. */
  run<T>(fn: () => Promise<T>, prefetch = false): Ticket<T> {
    let entry!: Entry;
    const promise = new Promise<T>((resolve, reject) => {
      entry = {
        prefetch,
        started: false,
        start: () => {
          entry.started = true;
          this.running++;
          this.maxRunning = Math.max(this.maxRunning, this.running);
          fn().then(resolve, reject).finally(() => {
            this.running--;
            this.pump();
          });
        },
      };
    });
    (prefetch ? this.prefetch : this.demand).push(entry);
    this.pump();
    return {
      promise,
      promote: () => {
        if (entry.started || !entry.prefetch) return;
        this.prefetch.splice(this.prefetch.indexOf(entry), 1);
        entry.prefetch = false;
        this.demand.push(entry);
        this.promoted++;
        this.pump();
      },
    };
  }

  private pump(): void {
    const limit = Math.max(1, this.limit());
    while (this.running < limit) {
      const next = this.demand.shift() ?? this.prefetch.shift();
      if (!next) return;
      next.start();
    }
  }

  stats(): LimiterStats {
    return {
      inFlight: this.running, queuedDemand: this.demand.length, queuedPrefetch: this.prefetch.length,
      maxInFlight: this.maxRunning, promoted: this.promoted,
    };
  }
}
