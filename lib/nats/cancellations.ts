// Cancellation is a broadcast: a barge-in or response.cancel publishes the response id on a core
// NATS subject every LLM/TTS worker hears, so in-flight work for it stops at once. Recently
// cancelled ids are remembered for a while, so a queued job that starts later is dropped too.
import type { Subscription } from '@nats-io/nats-core';
import type { Bus } from './bus.ts';
import { decodeJsonOrUndefined, encodeJson } from './publish.ts';
import { validators, type CancelNotice } from '../../schemas/index.ts';
import { CancelledError } from '../errors.ts';
import { metrics } from '../metrics.ts';

const REMEMBER_MS = 120_000;
const MAX_REMEMBERED = 100_000;

export class CancelRegistry {
  private readonly running = new Map<string, Set<AbortController>>();
  private readonly cancelled = new Map<string, number>(); // responseId -> cancelled at (insertion ordered)
  private sub: Subscription | undefined;

  /** `stage` labels the stop-latency metric; the gateway, which only publishes, passes none. */
  constructor(
    private readonly bus: Bus,
    private readonly stage?: string,
  ) {}

  start(): void {
    this.sub = this.bus.nc.subscribe(this.bus.cat.subjects.cancelAll(), {
      callback: (err, msg) => {
        if (err) return;
        const body = decodeJsonOrUndefined(msg.data);
        if (validators.cancelNotice.check(body)) this.cancelLocal(body.responseId, body.at);
      },
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
    for (const set of this.running.values()) for (const c of set) c.abort(new CancelledError('worker stopping'));
  }

  /** Broadcast a cancel (the gateway does this). Core NATS: it never waits behind audio. */
  publish(notice: CancelNotice): void {
    this.bus.nc.publish(this.bus.cat.subjects.cancel(notice.sessionId), encodeJson({ ...notice, at: notice.at ?? Date.now() }));
  }

  isCancelled(responseId: string): boolean {
    return this.cancelled.has(responseId);
  }

  /** A signal that aborts when `responseId` is cancelled; call the returned release when done. */
  track(responseId: string, parent?: AbortSignal): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    if (this.cancelled.has(responseId)) controller.abort(new CancelledError(`response ${responseId} was cancelled`));
    let set = this.running.get(responseId);
    if (!set) this.running.set(responseId, (set = new Set()));
    set.add(controller);
    const signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal;
    return {
      signal,
      release: () => {
        set.delete(controller);
        if (set.size === 0) this.running.delete(responseId);
      },
    };
  }

  private cancelLocal(responseId: string, at: number | undefined): void {
    this.cancelled.set(responseId, Date.now());
    for (const c of this.running.get(responseId) ?? []) {
      c.abort(new CancelledError(`response ${responseId} was cancelled`));
      if (at && this.stage) metrics.cancelSeconds.observe({ stage: this.stage }, Math.max(0, Date.now() - at) / 1000);
    }
    this.prune();
  }

  private prune(): void {
    const horizon = Date.now() - REMEMBER_MS;
    for (const [id, at] of this.cancelled) {
      if (at >= horizon && this.cancelled.size <= MAX_REMEMBERED) break;
      this.cancelled.delete(id);
    }
  }
}
