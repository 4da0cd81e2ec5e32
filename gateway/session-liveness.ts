// Session heartbeats and the janitor. Every gateway refreshes a heartbeat key per open session
// (bucket TTL 30 s, spread over the interval so there is no burst). One gateway at a time — the
// holder of the `janitor.sessions` lease — watches the heartbeats; when a session's heartbeat
// lapses (its gateway died and nobody resumed it), it records `session.closed`, tells the VAD owner
// to drop the session, and removes the session state. nats-server 2.9 sends no event when a key
// ages out, hence the watch plus a sweep.
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import type { Bus } from '../lib/nats/bus.ts';
import { encodeJson, publishDurable, publishJson } from '../lib/nats/publish.ts';
import type { SessionStore } from '../lib/session-store.ts';
import type { Logger } from '../lib/logger.ts';
import { errorMessage } from '../lib/errors.ts';
import { HEADER } from '../schemas/index.ts';
import { partitionOf } from '../subjects/index.ts';

export interface LivenessOptions {
  readonly bus: Bus;
  readonly heartbeats: KV;
  readonly leases: KV;
  readonly store: SessionStore;
  readonly gatewayId: string;
  readonly log: Logger;
  readonly everyMs: number;
  readonly ttlMs: number;
}

const TICKS = 10;
const JANITOR_KEY = 'janitor.sessions';

export class SessionLiveness {
  private readonly tracked = new Map<string, number>(); // session -> tick slot
  private tick = 0;
  private timer: NodeJS.Timeout | undefined;
  private janitorRev: number | undefined;
  private watch: QueuedIterator<KvWatchEntry> | undefined;
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly o: LivenessOptions) {}

  track(sessionId: string): void {
    this.tracked.set(sessionId, this.tracked.size % TICKS);
    this.beat(sessionId);
  }

  /** Stop heartbeating; `final` (the client closed) also removes the key at once. */
  untrack(sessionId: string, final: boolean): void {
    this.tracked.delete(sessionId);
    if (final) void this.o.heartbeats.delete(this.o.bus.cat.subjects.heartbeatKey(sessionId)).catch(() => undefined);
  }

  start(): void {
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return; // a slow sweep never overlaps the next tick
      busy = true;
      void this.onTick().finally(() => (busy = false));
    }, this.o.everyMs / TICKS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.watch?.stop();
    if (this.janitorRev !== undefined) await this.o.leases.delete(JANITOR_KEY).catch(() => undefined);
  }

  /**
   * A KV put without waiting for its ack: with tens of thousands of sessions per gateway an acked
   * put per session per interval costs a request, a timer and a reply each, and their garbage
   * grew an idle gateway's heap by hundreds of MiB. A lost beat is covered by the next one.
   */
  private beat(sessionId: string): void {
    try {
      this.o.bus.nc.publish(this.o.bus.cat.subjects.heartbeat(sessionId), this.o.gatewayId);
    } catch (err) {
      this.o.log.warn({ session_id: sessionId, err: errorMessage(err) }, 'heartbeat failed');
    }
  }

  private async onTick(): Promise<void> {
    const slot = this.tick++ % TICKS;
    for (const [sid, s] of this.tracked) if (s === slot) this.beat(sid);
    // The lease is renewed every tick (its bucket TTL is a few seconds); the sweep runs twice a cycle.
    await this.janitor(slot % (TICKS / 2) === 0).catch((err: unknown) => this.o.log.warn({ err: errorMessage(err) }, 'janitor round failed'));
  }

  /** Hold or renew the janitor lease; while held, keep the watch and sweep. */
  private async janitor(sweep: boolean): Promise<void> {
    try {
      this.janitorRev =
        this.janitorRev === undefined ? await this.o.leases.create(JANITOR_KEY, this.o.gatewayId) : await this.o.leases.update(JANITOR_KEY, this.o.gatewayId, this.janitorRev);
    } catch {
      if (this.janitorRev !== undefined) this.o.log.info('janitor lease lost');
      this.janitorRev = undefined;
      this.watch?.stop();
      this.watch = undefined;
      this.lastSeen.clear();
      return;
    }
    if (!this.watch) await this.startWatch();
    if (sweep) await this.sweep();
  }

  private async startWatch(): Promise<void> {
    this.watch = await this.o.heartbeats.watch({ key: this.o.bus.cat.subjects.heartbeatKeyAll() });
    const now = Date.now();
    // Sessions whose heartbeat already lapsed before we became janitor: seen once, never renewed.
    for await (const key of this.o.store.keys()) this.lastSeen.set(key, now - this.o.ttlMs);
    void (async () => {
      for await (const e of this.watch!) {
        const sid = this.o.bus.cat.subjects.heartbeatSession(e.key);
        if (e.operation === 'PUT') this.lastSeen.set(sid, Date.now());
        else this.lastSeen.delete(sid);
      }
    })();
  }

  private async sweep(): Promise<void> {
    const horizon = Date.now() - this.o.ttlMs - this.o.everyMs;
    for (const [sid, seen] of this.lastSeen) {
      if (seen > horizon) continue;
      const hb = await this.o.heartbeats.get(this.o.bus.cat.subjects.heartbeatKey(sid));
      if (hb?.operation === 'PUT') continue; // alive after all
      this.lastSeen.delete(sid);
      await this.expire(sid);
    }
  }

  private async expire(sessionId: string): Promise<void> {
    const { bus } = this.o;
    const stored = await this.o.store.load(sessionId);
    if (!stored) return; // closed properly meanwhile
    this.o.log.info({ session_id: sessionId }, 'session heartbeat expired, cleaning up');
    await publishJson(bus, bus.cat.subjects.conversation(sessionId), { kind: 'session.closed', sessionId, reason: 'heartbeat_expired', at: Date.now() }, { msgId: `${sessionId}:closed` });
    // The VAD owner drops the session's buffers (the highest seq: nothing can come after it).
    await publishDurable(bus, bus.cat.subjects.audio(partitionOf(sessionId, bus.cat.partitions), sessionId), encodeJson({ op: 'close' }), {
      kind: 'control',
      headers: { [HEADER.gateway]: stored.record.gatewayId, [HEADER.seq]: String(Number.MAX_SAFE_INTEGER) },
    });
    await this.o.store.remove(sessionId);
  }
}
