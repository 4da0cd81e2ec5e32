// Stage -> gateway events (the outbox) and committed-utterance storage. Every outbox event is
// de-duplicated by a stable id, so a redelivered job cannot show a client the same event twice.
import type { Bus } from './bus.ts';
import { publishDurable, publishJson } from './publish.ts';
import { HEADER, type OutboxEvent } from '../../schemas/index.ts';
import { TransportError } from '../errors.ts';

export function publishOutbox(bus: Bus, target: { gatewayId: string; sessionId: string }, event: OutboxEvent, msgId: string, signal?: AbortSignal): Promise<unknown> {
  return publishJson(bus, bus.cat.subjects.outbox(target.gatewayId, target.sessionId), event, {
    msgId,
    headers: { [HEADER.session]: target.sessionId },
    ...(signal ? { signal } : {}),
  });
}

/** One chunk of synthesized speech (PCM16 24 kHz), numbered so the gateway can re-order. */
export function publishTtsAudio(
  bus: Bus,
  target: { gatewayId: string; sessionId: string; responseId: string; sentence: number; chunk: number },
  pcm: Uint8Array,
  signal?: AbortSignal,
): Promise<unknown> {
  return publishDurable(bus, bus.cat.subjects.outbox(target.gatewayId, target.sessionId), pcm, {
    kind: 'tts.audio',
    msgId: `tts:${target.responseId}:${target.sentence}:${target.chunk}`,
    headers: {
      [HEADER.session]: target.sessionId,
      [HEADER.response]: target.responseId,
      [HEADER.sentence]: String(target.sentence),
      [HEADER.chunk]: String(target.chunk),
    },
    ...(signal ? { signal } : {}),
  });
}

/** Read a committed utterance back from the utterance stream (direct get, any replica). */
export async function readUtterance(bus: Bus, sessionId: string, itemId: string, chunks: number): Promise<Uint8Array> {
  const parts = await Promise.all(
    Array.from({ length: chunks }, async (_, n) => {
      const subject = bus.cat.subjects.utteranceChunk(sessionId, itemId, n);
      const msg = await bus.jsm.direct.getMessage(bus.cat.streams.utterances, { last_by_subj: subject });
      if (!msg) throw new TransportError(`utterance chunk ${subject} is missing (expired or not yet replicated)`);
      return msg.data;
    }),
  );
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
