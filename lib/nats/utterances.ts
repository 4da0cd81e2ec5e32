// A committed user utterance: its 24 kHz PCM16 audio, chunked into the utterance stream (read back
// by STT and conversation.item.retrieve), and the STT job that transcribes it. Used by the VAD stage
// (turns it detects or is told to commit) and by the gateway (input_audio items a client creates).
import type { Bus } from './bus.ts';
import { publishDurable, publishJson } from './publish.ts';
import type { SttJob, TranscriptionSettings } from '../../schemas/index.ts';

export const UTTERANCE_CHUNK_BYTES = 256 * 1024;
const RATE = 24_000;

export interface UtteranceOwner {
  readonly sessionId: string;
  readonly gatewayId: string;
  readonly tenantId: string;
  readonly itemId: string;
  readonly transcription: TranscriptionSettings;
}

export function utteranceChunks(audio: Uint8Array): number {
  return Math.ceil(audio.length / UTTERANCE_CHUNK_BYTES);
}

/** Store the audio (de-duplicated per item and chunk), then queue its STT job (once per item). */
export async function storeUtterance(bus: Bus, o: UtteranceOwner, audio: Uint8Array, opts: { chunks?: number; transcribe?: boolean } = {}): Promise<void> {
  const chunks = opts.chunks ?? utteranceChunks(audio);
  await Promise.all(
    Array.from({ length: chunks }, (_, n) =>
      publishDurable(bus, bus.cat.subjects.utteranceChunk(o.sessionId, o.itemId, n), audio.subarray(n * UTTERANCE_CHUNK_BYTES, (n + 1) * UTTERANCE_CHUNK_BYTES), {
        msgId: `utt:${o.itemId}:${n}`,
        kind: 'audio',
      }),
    ),
  );
  if (opts.transcribe === false) return;
  const job: SttJob = {
    sessionId: o.sessionId,
    gatewayId: o.gatewayId,
    tenantId: o.tenantId,
    itemId: o.itemId,
    samples: audio.length / 2,
    sampleRate: RATE,
    chunks,
    transcription: o.transcription,
    committedAt: Date.now(),
  };
  await publishJson(bus, bus.cat.subjects.sttJob(o.sessionId), job, { msgId: `stt:${o.itemId}` });
}
