// Ownership of audio partitions by a pool of workers, held as leases in a KV bucket whose max_age is
// the lease length (on nats-server 2.9 that is the only TTL that works). A worker renews its leases
// with compare-and-set, takes free partitions up to its fair share, and gives back extras when new
// workers join, so load spreads without a coordinator. A lease whose holder stops renewing lapses
// and another worker takes it over.
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
  readonly log: Logger;
  /** Called when a partition becomes ours; `takenOver` is true when the previous holder vanished. */
  readonly onAcquire: (partition: number, takenOver: boolean) => Promise<void>;
  /** Called when we give a partition up (rebalance, stop) or learn that we lost it. */
  readonly onRelease: (partition: number) => Promise<void>;
}

const RELEASED = 'released';

export class PartitionLeases {
  private readonly owned = new Map<number, number>(); // partition -> KV revision
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PartitionLeaseOptions) {}

  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.o.renewEveryMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all(this.ownedPartitions().map((p) => this.release(p)));
    await this.o.kv.delete(this.workerKey()).catch(() => undefined);
  }

  private leaseKey(p: number): string {
    return `${this.o.stage}.${p}`;
  }

  private workerKey(): string {
    return `workers.${this.o.stage}.${this.o.holderId}`;
  }

  private async liveWorkers(): Promise<number> {
    let n = 0;
    const keys = await this.o.kv.keys(`workers.${this.o.stage}.*`);
    for await (const _k of keys) n++;
    return Math.max(1, n);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.o.kv.put(this.workerKey(), String(Date.now()));
      await this.renewAll();
      const fairShare = Math.ceil(this.o.partitions / (await this.liveWorkers()));
      for (let p = 0; p < this.o.partitions && this.owned.size < fairShare && !this.stopped; p++) {
        if (!this.owned.has(p)) await this.tryAcquire(p);
      }
      // Give back what is beyond our share so newcomers find free partitions.
      const extras = this.ownedPartitions().slice(fairShare);
      for (const p of extras) await this.release(p);
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err), stage: this.o.stage }, 'lease tick failed');
    }
  }

  private async renewAll(): Promise<void> {
    for (const [p, rev] of [...this.owned]) {
      try {
        this.owned.set(p, await this.o.kv.update(this.leaseKey(p), this.o.holderId, rev));
      } catch (err) {
        this.owned.delete(p);
        this.o.log.warn({ partition: p, err: errorMessage(err) }, 'lease lost');
        await this.o.onRelease(p);
      }
    }
  }

  private async tryAcquire(p: number): Promise<void> {
    const key = this.leaseKey(p);
    const entry = await this.o.kv.get(key);
    let rev: number;
    let takenOver: boolean;
    try {
      if (entry && entry.operation === 'PUT') {
        if (entry.string() !== RELEASED) return; // held by someone alive
        rev = await this.o.kv.update(key, this.o.holderId, entry.revision);
        takenOver = false;
      } else {
        // Missing: never held, or its holder stopped renewing and the lease aged out.
        rev = await this.o.kv.create(key, this.o.holderId);
        takenOver = entry === null ? true : false;
      }
    } catch {
      return; // someone else won the race
    }
    this.owned.set(p, rev);
    try {
      await this.o.onAcquire(p, takenOver);
    } catch (err) {
      this.o.log.error({ partition: p, err: errorMessage(err) }, 'could not start partition, releasing');
      await this.release(p);
    }
  }

  private async release(p: number): Promise<void> {
    const rev = this.owned.get(p);
    if (rev === undefined) return;
    this.owned.delete(p);
    await this.o.onRelease(p);
    // Mark released (not deleted) so the next holder knows nothing is pending redelivery.
    await this.o.kv.update(this.leaseKey(p), RELEASED, rev).catch(() => undefined);
  }
}
