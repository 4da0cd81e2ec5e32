// End-to-end liveness of a consumer. After a NATS node dies, a consumer can stop delivering
// without any error or status event (its pull was lost while leadership moved; seen on 2.9 with
// both durable and ordered consumers). So the owner publishes a small probe onto a subject its own
// consumer reads, every `everyMs`; if none comes back within `staleMs`, the consumer is declared
// stalled and rebuilt. Nothing else is trusted.
import type { Bus } from './bus.ts';
import { publishDurable } from './publish.ts';
import { HEADER } from '../../schemas/index.ts';

export const PROBE_SESSION = '_probe';

export interface ConsumerProbe {
  /** Call when a probe came back through the consumer. */
  seen(): void;
  stop(): void;
}

export function startConsumerProbe(o: {
  bus: Bus;
  subject: string;
  everyMs: number;
  staleMs: number;
  headers?: Record<string, string>;
  onStall: () => void;
}): ConsumerProbe {
  let lastSeen = Date.now();
  let n = 0;
  const timer = setInterval(() => {
    if (Date.now() - lastSeen > o.staleMs) {
      lastSeen = Date.now(); // give the rebuilt consumer a full window
      o.onStall();
    }
    publishDurable(o.bus, o.subject, new Uint8Array(0), {
      kind: 'probe',
      msgId: `probe:${o.subject}:${Date.now()}:${n++}`,
      headers: { [HEADER.session]: PROBE_SESSION, ...o.headers },
      retryForMs: o.everyMs,
    }).catch(() => undefined); // a failing publish is itself a reason the probe will go stale
  }, o.everyMs);
  timer.unref();
  return {
    seen: () => {
      lastSeen = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
