// End-to-end liveness of a consumer. After a NATS node dies, a consumer can stop delivering
// without any error or status event (its pull was lost while leadership moved; seen on 2.9 with
// both durable and ordered consumers). So the owner publishes a small probe onto a subject its own
// consumer reads, every `everyMs`; if one the stream stored (PubAck) has not come back within
// `staleMs`, the consumer is declared stalled and rebuilt. Nothing else is trusted.
// A busy event loop is not a stalled consumer. A gateway at 100% CPU reads its socket seconds late:
// timed by the wall clock since the last probe came back, it rebuilt a healthy consumer again and
// again, each rebuild adding load. So the clock starts when a probe is stored, and before a stall is
// declared a PING round trip makes sure everything the server had already sent has been read.
import type { Bus } from './bus.ts';
import { publishDurable } from './publish.ts';

export const PROBE_SESSION = '_probe';

export interface ConsumerProbe {
  /** Call when a probe came back through the consumer. */
  seen(): void;
  /**
   * Call when the consumer was just made again: until a probe comes back the window is `verifyMs`.
   * A rebuild during a leader election can come back silent (cluster test: VAD partitions rebuilt
   * 9.5 s after a meta-leader kill delivered nothing until the old window ran out 2.4 s later).
   */
  rebuilt(): void;
  stop(): void;
}

export function startConsumerProbe(o: {
  bus: Bus;
  subject: string;
  everyMs: number;
  staleMs: number;
  /** The window right after a rebuild (rebuilt()); staleMs when not given. */
  verifyMs?: number;
  headers?: Record<string, string>;
  onStall: () => void;
}): ConsumerProbe {
  let lastSeen = Date.now();
  /** When the stream stored the oldest probe that has not come back yet. */
  let storedSince: number | undefined;
  /** The last probe publish failed (no leader, say): then the window runs from the last one seen. */
  let storeFailing = false;
  let confirming = false;
  let stopped = false;
  let n = 0;
  let windowMs = o.staleMs;
  const publishProbe = (now: number) => {
    publishDurable(o.bus, o.subject, new Uint8Array(0), {
      kind: 'probe',
      msgId: `probe:${o.subject}:${now}:${n++}`,
      ...(o.headers ? { headers: o.headers } : {}),
      retryForMs: o.everyMs,
    })
      .then(() => {
        storeFailing = false;
        storedSince ??= Date.now();
      })
      .catch(() => {
        storeFailing = true;
      });
  };
  const timer = setInterval(() => {
    const now = Date.now();
    // While the stream takes no probes (a leader election), the window runs from the last one seen:
    // the rebuilt consumer is then ready when the stream is.
    const suspect = (storedSince !== undefined && now - storedSince > windowMs) || (storeFailing && now - lastSeen > windowMs);
    if (suspect && !confirming) {
      confirming = true;
      // Bounded by one probe interval: a connection that is down (a node just died) must not delay the rebuild.
      void readEverythingSent(o.bus, o.everyMs).then(() => {
        confirming = false;
        if (stopped || lastSeen >= now) return; // it had come back and was only waiting to be read
        lastSeen = Date.now(); // give the rebuilt consumer a full window
        storedSince = undefined;
        o.onStall();
      });
    }
    publishProbe(now);
  }, o.everyMs);
  timer.unref();
  return {
    seen: () => {
      lastSeen = Date.now();
      storedSince = undefined;
      windowMs = o.staleMs;
    },
    rebuilt: () => {
      if (stopped) return;
      lastSeen = Date.now();
      storedSince = undefined;
      windowMs = o.verifyMs ?? o.staleMs;
      publishProbe(lastSeen); // the first one now, not up to a period later
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Resolves once every message the server sent before now has been read and handed on: a PING
 * round trip (messages arrive in order), then a turn of the event loop for the consumers' loops.
 * Gives up after `timeoutMs` (a connection that cannot answer a PING delivers nothing either).
 */
async function readEverythingSent(bus: Bus, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([bus.nc.flush().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r));
}
