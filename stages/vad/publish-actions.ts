// What a VAD decision puts on the bus: events for the session's gateway, and for a committed turn
// its audio (chunked into the utterance stream) plus an STT job. Every id is derived from the turn,
// so a replay after a takeover publishes nothing twice (JetStream drops the duplicate ids).
import type { Bus } from '../../lib/nats/bus.ts';
import { publishOutbox } from '../../lib/nats/outbox.ts';
import { storeUtterance, utteranceChunks } from '../../lib/nats/utterances.ts';
import type { SessionVad, VadAction } from './session-vad.ts';

/**
 * Publish one action. For a commit, `stored` is its audio and STT job already on their way (see
 * storeTurn); the committed event itself goes out after them and after the actions before it.
 */
export async function publishVadAction(bus: Bus, vad: SessionVad, action: VadAction, stored?: Promise<void>): Promise<void> {
  const target = { gatewayId: vad.gatewayId, sessionId: vad.sessionId };
  if (action.type === 'event') {
    const ev = action.event;
    const key = 'itemId' in ev ? ev.itemId : 'clientEventId' in ev && ev.clientEventId ? ev.clientEventId : String(Date.now());
    await publishOutbox(bus, target, ev, `${vad.sessionId}:${ev.kind}:${key}`);
    return;
  }
  const { itemId, audio } = action;
  await (stored ?? storeTurn(bus, vad, action));
  await publishOutbox(
    bus,
    target,
    {
      kind: 'input.committed',
      itemId,
      audioStartMs: action.audioStartMs,
      audioEndMs: action.audioEndMs,
      samples: audio.length / 2,
      chunks: utteranceChunks(audio),
      clientEventId: action.clientEventId,
      source: action.source,
    },
    `${vad.sessionId}:committed:${itemId}`,
  );
}

/**
 * A committed turn's audio into the utterance stream (read back by STT and item.retrieve) and its
 * STT job. Nothing in the outbox depends on them, so they can start before the events queued ahead.
 */
export async function storeTurn(bus: Bus, vad: SessionVad, action: Extract<VadAction, { type: 'commit' }>): Promise<void> {
  if (action.audio.length === 0) return;
  await storeUtterance(bus, { sessionId: vad.sessionId, gatewayId: vad.gatewayId, tenantId: vad.tenantId, itemId: action.itemId, transcription: vad.transcription }, action.audio);
}
