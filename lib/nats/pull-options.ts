// Options for a consumer that streams without end (a VAD audio partition, a gateway's outbox).
//
// nats-server 2.9.10 sometimes lets a pull request that has delivered part of its batch expire
// without the 408 that tells the client to pull again; the client then holds no request, the
// server sends nothing, and delivery stops until the client notices missing idle heartbeats and
// pulls again. Measured at 25 messages/s (one session's audio), batch 2,000, 5 s expiry: one
// expiry in four was silent, a 5,038 ms gap with the default heartbeat (expiry / 2, two missed).
// Two settings make that harmless:
// - a small batch: under traffic the client pulls again every batch/4 messages, so a fresh request
//   overlaps the one that expires (batch 100: 45 s without a gap at the same rate);
// - a 500 ms idle heartbeat (the least nats.js allows): a quiet partition that lost its request is
//   noticed and re-pulled by nats.js after ~1 s (measured gap 1,039 ms), not 5 s.
import type { ConsumerMessages } from '@nats-io/jetstream';

export const STREAMING_PULL = { max_messages: 128, expires: 5_000, idle_heartbeat: 500 } as const;

/**
 * Missed heartbeats after which a streaming consumer is rebuilt by us. nats.js already pulls again
 * at the second; still missing at the fourth means the consumer (or its leader) is gone.
 */
export const STALLED_AFTER_MISSED_HEARTBEATS = 4;

/** A consume() status that means the consumer must be rebuilt: silent too long, or gone. */
export function consumerGone(s: { type: string; count?: number }): boolean {
  return (
    (s.type === 'heartbeats_missed' && (s.count ?? 0) >= STALLED_AFTER_MISSED_HEARTBEATS) ||
    s.type === 'consumer_not_found' ||
    s.type === 'consumer_deleted' ||
    s.type === 'stream_not_found'
  );
}

/**
 * Stop `messages` (ending its iterator, so the owner's loop rebuilds it) at the first status that
 * says the consumer is gone; `onGone` logs why.
 */
export async function stopWhenGone(messages: ConsumerMessages, onGone: (status: string) => void): Promise<void> {
  for await (const s of messages.status()) {
    if (!consumerGone(s)) continue;
    onGone(s.type);
    messages.stop();
    return;
  }
}
