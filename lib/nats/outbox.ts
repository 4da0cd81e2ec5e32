// Stage -> gateway events (the outbox). Every outbox event is de-duplicated by a stable id, so a
// redelivered job cannot show a client the same event twice.
import type { Bus } from './bus.ts';
import { publishDurable, publishJson } from './publish.ts';
import { HEADER, type OutboxEvent } from '../../schemas/index.ts';

export function publishOutbox(bus: Bus, target: { gatewayId: string; sessionId: string }, event: OutboxEvent, msgId: string, signal?: AbortSignal): Promise<unknown> {
  return publishJson(bus, bus.cat.subjects.outbox(target.gatewayId, target.sessionId), event, {
    msgId,
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
      [HEADER.response]: target.responseId,
      [HEADER.sentence]: String(target.sentence),
      [HEADER.chunk]: String(target.chunk),
    },
    ...(signal ? { signal } : {}),
  });
}
