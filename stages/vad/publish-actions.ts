// What a VAD decision puts on the bus: events for the session's gateway, and for a committed turn
// its audio (chunked into the utterance stream) plus an STT job. Every id is derived from the turn,
// so a replay after a takeover publishes nothing twice (JetStream drops the duplicate ids).
import type { Bus } from '../../lib/nats/bus.ts';
import { publishOutbox } from '../../lib/nats/outbox.ts';
import { UTTERANCE_CHUNK_BYTES, storeUtterance } from '../../lib/nats/utterances.ts';
import type { SessionVad, VadAction } from './session-vad.ts';

export async function publishVadAction(bus: Bus, vad: SessionVad, action: VadAction): Promise<void> {
  const target = { gatewayId: vad.gatewayId, sessionId: vad.sessionId };
  if (action.type === 'event') {
    const ev = action.event;
    const key = 'itemId' in ev ? ev.itemId : 'clientEventId' in ev && ev.clientEventId ? ev.clientEventId : String(Date.now());
    await publishOutbox(bus, target, ev, `${vad.sessionId}:${ev.kind}:${key}`);
    return;
  }
  const { itemId, audio } = action;
  const chunks = Math.ceil(audio.length / UTTERANCE_CHUNK_BYTES);
  if (audio.length > 0) await storeAndTranscribe(bus, vad, itemId, audio, chunks);
  await publishOutbox(
    bus,
    target,
    {
      kind: 'input.committed',
      itemId,
      audioStartMs: action.audioStartMs,
      audioEndMs: action.audioEndMs,
      samples: audio.length / 2,
      chunks,
      clientEventId: action.clientEventId,
      source: action.source,
    },
    `${vad.sessionId}:committed:${itemId}`,
  );
}

/** The turn's audio into the utterance stream (read back by STT and item.retrieve), then its STT job. */
async function storeAndTranscribe(bus: Bus, vad: SessionVad, itemId: string, audio: Uint8Array, chunks: number): Promise<void> {
  await storeUtterance(bus, { sessionId: vad.sessionId, gatewayId: vad.gatewayId, tenantId: vad.tenantId, itemId, transcription: vad.transcription }, audio, { chunks });
}
