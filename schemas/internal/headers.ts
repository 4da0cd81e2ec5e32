// NATS header names carried on the bus. Binary audio keeps its metadata here rather than in a JSON
// envelope, so a frame is published and consumed without any base64 or JSON work.
export const HEADER = {
  /** audio | control | event | tts.audio | probe */
  kind: 'Parley-Kind',
  gateway: 'Parley-Gateway',
  /** Per-session frame sequence number on the audio subject. */
  seq: 'Parley-Seq',
  /** Sample offset of the frame's first sample since the session started (24 kHz). */
  offset: 'Parley-Offset',
  /** Wall-clock epoch ms when the gateway published the frame (lag metrics). */
  sentAt: 'Parley-Sent-At',
  response: 'Parley-Response',
  sentence: 'Parley-Sentence',
  chunk: 'Parley-Chunk',
  /**
   * Byte offset in the message data where a binary attachment starts, after the JSON body (an STT
   * job's utterance audio): bytes travel as bytes, not as base64 inside the JSON.
   */
  attachment: 'Parley-Attachment',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** `probe`: a consumer's own liveness message, published to itself (see lib/nats/consumer-probe.ts). */
export type MessageKind = 'audio' | 'control' | 'event' | 'tts.audio' | 'probe';

/** The Parley-* headers of a message on the audio subject, read in one pass (see readAudioHeaders). */
export interface AudioHeaders {
  readonly kind: string;
  readonly gateway: string;
  /** NaN when missing or not a number. */
  readonly seq: number;
  readonly offset: number;
  /** 0 when unknown. */
  readonly sentAt: number;
}

/**
 * One walk over a message's headers instead of a lookup per name: nats.js's `get` builds an array
 * of every key and filters it on each call, and the VAD reads five names of thousands of messages a
 * second (12% of the VAD thread's allocation at 300 sessions). Takes each name's first value.
 */
export function readAudioHeaders(headers: Iterable<[string, string[]]> | undefined): AudioHeaders {
  let kind = '';
  let gateway = '';
  let seq = '';
  let offset = '';
  let sentAt = '';
  if (headers) {
    for (const [name, values] of headers) {
      const v = values[0] ?? '';
      if (name === HEADER.kind) kind = v;
      else if (name === HEADER.gateway) gateway = v;
      else if (name === HEADER.seq) seq = v;
      else if (name === HEADER.offset) offset = v;
      else if (name === HEADER.sentAt) sentAt = v;
    }
  }
  return { kind, gateway, seq: seq === '' ? NaN : Number(seq), offset: offset === '' ? NaN : Number(offset), sentAt: Number(sentAt) || 0 };
}
