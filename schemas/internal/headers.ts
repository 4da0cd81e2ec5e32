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
