// What a VAD decision puts on the bus: events for the session's gateway, and for a committed turn
// its audio (chunked into the utterance stream) plus an STT job. Every id is derived from the turn,
// so a replay after a takeover publishes nothing twice (JetStream drops the duplicate ids).
import type { Bus } from '../../lib/nats/bus.ts';
import { publishOutbox } from '../../lib/nats/outbox.ts';
import { publishDurable, publishJson } from '../../lib/nats/publish.ts';
import type { SttJob } from '../../schemas/index.ts';
import { BUS_RATE, type SessionVad, type VadAction } from './session-vad.ts';

const UTTERANCE_CHUNK_BYTES = 256 * 1024;

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
  await Promise.all(
    Array.from({ length: chunks }, (_, n) =>
      publishDurable(bus, bus.cat.subjects.utteranceChunk(vad.sessionId, itemId, n), audio.subarray(n * UTTERANCE_CHUNK_BYTES, (n + 1) * UTTERANCE_CHUNK_BYTES), {
        msgId: `utt:${itemId}:${n}`,
        kind: 'audio',
      }),
    ),
  );
  const job: SttJob = {
    sessionId: vad.sessionId,
    gatewayId: vad.gatewayId,
    tenantId: vad.tenantId,
    itemId,
    samples: audio.length / 2,
    sampleRate: BUS_RATE,
    chunks,
    transcription: vad.transcription,
    committedAt: Date.now(),
  };
  await publishJson(bus, bus.cat.subjects.sttJob(vad.sessionId), job, { msgId: `stt:${itemId}` });
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
