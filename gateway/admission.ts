// Admission control for new connections: a token bucket (PARLEY_ADMISSION_PER_SECOND, default 100/s
// per instance, against thundering herds), a hard cap (PARLEY_MAX_CONNECTIONS) below the process's
// file-descriptor limit, because uWS spins at 100% CPU when accept() runs out of them, and a load
// gate (PARLEY_ADMISSION_MAX_LAG_MS): a gateway whose event loop runs late refuses new sessions
// instead of taking them on and slowing everyone's audio until it collapses.
//
// Why the loop's delay and not its utilization: on a shared 2-core host the utilization reads 100%
// from ~640 streaming sessions (time the thread waits for a core counts as busy) while audio still
// reaches the bus in ~50 ms; the delay keeps growing with the load past that point (bench-ingest
// --arrival: mean delay 35 ms at 640 sessions, 80 ms at 750, 150-550 ms at 830-1000 with publishes
// taking 0.3-3 s, and one run in two collapsed). Utilization is exported as a metric for autoscaling.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { metrics } from '../lib/metrics.ts';

export type AdmissionVerdict = 'ok' | 'rate_limited' | 'at_capacity' | 'overloaded' | 'draining';

/** How long the loop must have run late before new sessions are refused: one GC or burst is not overload. */
export const LOAD_WINDOW_MS = 2_000;
const LOAD_SAMPLE_MS = 250;
const DELAY_RESOLUTION_MS = 10;

interface LoadSample {
  readonly active: number;
  readonly idle: number;
  /** Sum and count of the loop delays measured in the sample (ms, resolution subtracted). */
  readonly delaySum: number;
  readonly delayCount: number;
}

/**
 * This thread's event loop over the last LOAD_WINDOW_MS: how late it ran (mean delay of a
 * DELAY_RESOLUTION_MS timer) and its utilization (share of time running callbacks rather than
 * waiting for I/O). uWS runs on Node's loop, so socket reads count in both.
 */
export class LoadMonitor {
  private readonly samples: LoadSample[] = [];
  private readonly size = Math.round(LOAD_WINDOW_MS / LOAD_SAMPLE_MS);
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly delays: IntervalHistogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.delays.enable();
    this.timer = setInterval(() => this.sample(), LOAD_SAMPLE_MS).unref();
  }

  /** Mean delay (ms) over the window; 0 until a whole window was seen (start-up work is not load). */
  delayMs(): number {
    if (this.samples.length < this.size) return 0;
    let sum = 0;
    let count = 0;
    for (const s of this.samples) {
      sum += s.delaySum;
      count += s.delayCount;
    }
    // A loop stalled for the whole window measured nothing: that is the worst case, not zero.
    return count > 0 ? sum / count : LOAD_WINDOW_MS;
  }

  /** Busy share over the window, 0..1. */
  utilization(): number {
    let active = 0;
    let idle = 0;
    for (const s of this.samples) {
      active += s.active;
      idle += s.idle;
    }
    return active + idle > 0 ? active / (active + idle) : 0;
  }

  stop(): void {
    clearInterval(this.timer);
    this.delays.disable();
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    // A saturated loop runs this timer late; the deltas still cover all the time in between.
    const d = performance.eventLoopUtilization(now, this.last);
    this.last = now;
    const count = this.delays.count;
    const delaySum = count > 0 ? Math.max(0, this.delays.mean / 1e6 - DELAY_RESOLUTION_MS) * count : 0;
    this.delays.reset();
    this.samples.push({ active: d.active, idle: d.idle, delaySum, delayCount: count });
    if (this.samples.length > this.size) this.samples.shift();
    metrics.eventLoopUtilization.set(this.utilization());
    metrics.eventLoopDelay.set(this.delayMs() / 1000);
  }
}

export interface AdmissionOptions {
  readonly perSecond: number;
  readonly maxConnections: number;
  /** Refuse new sessions while the event loop's mean delay (ms) is above this; 0 never refuses. */
  readonly maxLagMs: number;
  /** The current mean delay, ms (LoadMonitor.delayMs). */
  readonly lagMs: () => number;
  /** The gate closed (the first refusal) or opened again (the first admission after), for the log. */
  readonly onGate?: (state: { closed: boolean; lagMs: number; refused: number }) => void;
}

export class Admission {
  private tokens: number;
  private last = performance.now();
  private draining = false;
  /** Refusals since the gate closed; undefined while it is open. */
  private refusedWhileClosed: number | undefined;

  constructor(private readonly o: AdmissionOptions) {
    this.tokens = o.perSecond;
  }

  drain(): void {
    this.draining = true;
  }

  /** The event loop's mean delay (ms), for the refusal's message. */
  lagMs(): number {
    return this.o.lagMs();
  }

  check(openConnections: number): AdmissionVerdict {
    if (this.draining) return 'draining';
    if (openConnections >= this.o.maxConnections) return 'at_capacity';
    if (this.o.maxLagMs > 0) {
      const lagMs = this.o.lagMs();
      if (lagMs > this.o.maxLagMs) {
        if (this.refusedWhileClosed === undefined) this.o.onGate?.({ closed: true, lagMs, refused: 0 });
        this.refusedWhileClosed = (this.refusedWhileClosed ?? 0) + 1;
        return 'overloaded';
      }
      if (this.refusedWhileClosed !== undefined) this.o.onGate?.({ closed: false, lagMs, refused: this.refusedWhileClosed });
      this.refusedWhileClosed = undefined;
    }
    const now = performance.now();
    this.tokens = Math.min(this.o.perSecond, this.tokens + ((now - this.last) / 1000) * this.o.perSecond);
    this.last = now;
    if (this.tokens < 1) return 'rate_limited';
    this.tokens -= 1;
    return 'ok';
  }
}

/** What a refused client is told (the OpenAI-style error body's message). */
export function refusalMessage(verdict: Exclude<AdmissionVerdict, 'ok'>, admission: Admission): string {
  switch (verdict) {
    case 'rate_limited':
      return 'Too many new connections; retry shortly.';
    case 'overloaded':
      return `This gateway is overloaded (its event loop ran ${Math.round(admission.lagMs())} ms late on average over the last ${LOAD_WINDOW_MS / 1000} s); retry shortly or on another instance.`;
    case 'at_capacity':
    case 'draining':
      return 'This gateway is not accepting new connections; retry on another instance.';
  }
}

/** Retry-After (seconds) of a refusal, where waiting helps. */
export const RETRY_AFTER: Partial<Record<AdmissionVerdict, number>> = { rate_limited: 1, overloaded: 2 };
