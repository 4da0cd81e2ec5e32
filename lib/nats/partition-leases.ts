// Ownership of audio partitions by a pool of workers, held as leases in a KV bucket whose max_age is
// the lease length (on nats-server 2.9 that is the only TTL that works). A worker renews its leases
// with compare-and-set, takes free partitions up to its fair share, and gives back extras when new
// workers join, so load spreads without a coordinator. A lease whose holder stops renewing lapses
// and another worker takes it over.
//
// Renewal never waits for a partition to start or stop (those run on their own per-partition
// chain), and a renewal that times out — a NATS leader election stalls KV writes for seconds — is
// not a lost lease: only "someone else holds it" or "it is gone" is.
import type { KV } from '@nats-io/kv';
import type { Logger } from '../logger.ts';
import { errorMessage } from '../errors.ts';

export interface PartitionLeaseOptions {
  readonly kv: KV;
  readonly stage: string;
  readonly partitions: number;
  readonly holderId: string;
  /** Renewal period; the bucket's TTL must be at least 2.5x this. */
  readonly renewEveryMs: number;
  /** The bucket's TTL: past this since the last good renewal, the lease may be someone else's. */
  readonly ttlMs: number;
  readonly log: Logger;
  /** Called when a partition becomes ours; `takenOver` is true when the previous holder vanished. */
  readonly onAcquire: (partition: number, takenOver: boolean) => Promise<void>;
  /** Called when we give a partition up (rebalance, stop) or learn that we lost it. */
  readonly onRelease: (partition: number) => Promise<void>;
}

const RELEASED = 'released';
/** How many lease lengths of unanswered renewals (not refusals) before we give a partition up. */
const UNREACHABLE_GRACE = 4;

interface Held {
  revision: number;
  renewedAt: number;
}

function isWrongSequence(err: unknown): boolean {
  return /wrong last sequence|10071/i.test(errorMessage(err));
}

export class PartitionLeases {
  private readonly owned = new Map<number, Held>();
  private readonly work = new Map<number, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private renewing: Promise<void> | undefined;
  private balancing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PartitionLeaseOptions) {}

  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /**
   * Two independent loops: renewal (never blocked by anything slower), and balancing (listing
   * workers, acquiring and releasing), which may wait seconds on a JetStream that is electing.
   */
  async start(): Promise<void> {
    await this.balance();
    this.timers = [
      setInterval(() => {
        if (!this.renewing) this.renewing = this.renewAll().finally(() => (this.renewing = undefined));
      }, this.o.renewEveryMs),
      setInterval(() => {
        if (!this.balancing) this.balancing = this.balance().finally(() => (this.balancing = undefined));
      }, this.o.renewEveryMs),
    ];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all([this.renewing, this.balancing]);
    await Promise.all(this.ownedPartitions().map((p) => this.release(p)));
    await Promise.all([...this.work.values()]);
    await this.o.kv.delete(this.workerKey()).catch(() => undefined);
  }

  private leaseKey(p: number): string {
    return `${this.o.stage}.${p}`;
  }

  private workerKey(): string {
    return `workers.${this.o.stage}.${this.o.holderId}`;
  }

  /** Start/stop of one partition run in order, never in the renewal loop. */
  private schedule(p: number, fn: () => Promise<void>): void {
    const next = (this.work.get(p) ?? Promise.resolve()).then(fn).catch((err: unknown) => this.o.log.error({ partition: p, err: errorMessage(err) }, 'partition start/stop failed'));
    this.work.set(p, next);
  }

  private async liveWorkers(): Promise<number> {
    let n = 0;
    const keys = await this.o.kv.keys(`workers.${this.o.stage}.*`);
    for await (const _k of keys) n++;
    return Math.max(1, n);
  }

  private async balance(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.o.kv.put(this.workerKey(), String(Date.now()));
      const fairShare = Math.ceil(this.o.partitions / (await this.liveWorkers()));
      for (let p = 0; p < this.o.partitions && this.owned.size < fairShare && !this.stopped; p++) {
        if (!this.owned.has(p)) await this.tryAcquire(p);
      }
      // Give back what is beyond our share so newcomers find free partitions.
      for (const p of this.ownedPartitions().slice(fairShare)) await this.release(p);
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err), stage: this.o.stage }, 'lease round incomplete (NATS unavailable?), will retry');
    }
  }

  private async renewAll(): Promise<void> {
    await Promise.all(
      [...this.owned].map(async ([p, held]) => {
        try {
          held.revision = await this.o.kv.update(this.leaseKey(p), this.o.holderId, held.revision);
          held.renewedAt = Date.now();
        } catch (err) {
          if (isWrongSequence(err)) {
            // Maybe our last write landed but its answer was lost, or the lease aged out while
            // NATS was electing a leader and nobody else took it: then it is still ours to keep.
            const entry = await this.o.kv.get(this.leaseKey(p)).catch(() => null);
            if (entry?.operation === 'PUT' && entry.string() === this.o.holderId) {
              held.revision = entry.revision;
              held.renewedAt = Date.now();
              return;
            }
            if (!entry || entry.operation !== 'PUT') {
              const reclaimed = await this.o.kv.create(this.leaseKey(p), this.o.holderId).catch(() => null);
              if (reclaimed !== null) {
                held.revision = reclaimed;
                held.renewedAt = Date.now();
                this.o.log.info({ partition: p }, 'lease lapsed during a NATS stall and was reclaimed');
                return;
              }
            }
            this.lose(p, 'taken or expired');
          } else if (Date.now() - held.renewedAt > UNREACHABLE_GRACE * this.o.ttlMs) {
            this.lose(p, 'could not renew for a long time');
          }
          // Otherwise the KV is unreachable — a leader election (10+ s on 2.9 after a crash) that
          // stops every worker's renewals alike: keep working and try again next round, rather
          // than stop and replay every partition. "Someone else holds it" is the only hard loss.
        }
      }),
    );
  }

  private lose(p: number, why: string): void {
    if (!this.owned.delete(p)) return;
    this.o.log.warn({ partition: p, why }, 'lease lost');
    this.schedule(p, () => this.o.onRelease(p));
  }

  private async tryAcquire(p: number): Promise<void> {
    const key = this.leaseKey(p);
    const entry = await this.o.kv.get(key);
    let revision: number;
    let takenOver: boolean;
    try {
      if (entry && entry.operation === 'PUT') {
        if (entry.string() !== RELEASED) return; // held by someone alive
        revision = await this.o.kv.update(key, this.o.holderId, entry.revision);
        takenOver = false;
      } else {
        // Missing: never held, or its holder stopped renewing and the lease aged out.
        revision = await this.o.kv.create(key, this.o.holderId);
        takenOver = true;
      }
    } catch {
      return; // someone else won the race
    }
    this.owned.set(p, { revision, renewedAt: Date.now() });
    this.schedule(p, async () => {
      try {
        await this.o.onAcquire(p, takenOver);
      } catch (err) {
        this.o.log.error({ partition: p, err: errorMessage(err) }, 'could not start partition, releasing');
        await this.release(p);
      }
    });
  }

  private async release(p: number): Promise<void> {
    const held = this.owned.get(p);
    if (!held) return;
    this.owned.delete(p);
    this.schedule(p, async () => {
      await this.o.onRelease(p);
      // Marked released (not deleted) only after the partition stopped and checkpointed, so the
      // next holder replays from the right place.
      await this.o.kv.update(this.leaseKey(p), RELEASED, held.revision).catch(() => undefined);
    });
  }
}
