// Internal bus messages between the gateway and the stages. JSON bodies are defined here with
// TypeBox and validated where they are consumed; binary audio travels as raw PCM16 with the
// metadata in headers (see headers.ts).
import { Type, type Static } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const NullableStr = Type.Union([Type.String(), Type.Null()]);
const ErrorInfo = Type.Object({ code: Type.String(), message: Type.String() });

export const TurnDetectionSettings = Type.Union([
  Type.Null(),
  Type.Object({
    type: Type.Literal('server_vad'),
    threshold: Type.Number(),
    prefix_padding_ms: Type.Integer(),
    silence_duration_ms: Type.Integer(),
    idle_timeout_ms: Type.Union([Type.Integer(), Type.Null()]),
    create_response: Type.Boolean(),
    interrupt_response: Type.Boolean(),
  }),
  Type.Object({
    type: Type.Literal('semantic_vad'),
    eagerness: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('auto')]),
    create_response: Type.Boolean(),
    interrupt_response: Type.Boolean(),
  }),
]);
export type TurnDetectionSettings = Static<typeof TurnDetectionSettings>;

export const TranscriptionSettings = Type.Union([Type.Null(), Type.Object({ model: Type.String(), language: NullableStr, prompt: NullableStr })]);
export type TranscriptionSettings = Static<typeof TranscriptionSettings>;

/** Input-buffer control, carried on the session's audio subject so it stays in order with audio. */
export const InputControl = Type.Union([
  Type.Object({ op: Type.Literal('config'), turnDetection: TurnDetectionSettings, transcription: TranscriptionSettings, tenantId: Id }),
  /** `idleTimeout`: server_vad's idle_timeout_ms fired; commit whatever is buffered, even nothing. */
  Type.Object({ op: Type.Literal('commit'), clientEventId: NullableStr, idleTimeout: Type.Optional(Type.Boolean()) }),
  Type.Object({ op: Type.Literal('clear'), clientEventId: NullableStr }),
  Type.Object({ op: Type.Literal('close') }),
]);
export type InputControl = Static<typeof InputControl>;

export const SttJob = Type.Object({
  sessionId: Id,
  gatewayId: Id,
  tenantId: Id,
  itemId: Id,
  samples: Type.Integer({ minimum: 0 }),
  sampleRate: Type.Integer(),
  chunks: Type.Integer({ minimum: 0, maximum: 10_000 }),
  transcription: TranscriptionSettings,
  committedAt: Type.Number(),
  // A short utterance (INLINE_AUDIO_MAX_BYTES) also travels with its job, as the message's binary
  // attachment (HEADER.attachment): the job need not wait for the utterance stream, and the STT
  // worker need not read it back. Longer utterances are read from the utterance stream.
});
export type SttJob = Static<typeof SttJob>;

export const ContextItem = Type.Union([
  Type.Object({ type: Type.Literal('message'), role: Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system')]), text: Type.String() }),
  Type.Object({ type: Type.Literal('function_call'), callId: Type.String(), name: Type.String(), arguments: Type.String() }),
  Type.Object({ type: Type.Literal('function_call_output'), callId: Type.String(), output: Type.String() }),
]);
export type ContextItem = Static<typeof ContextItem>;

export const ToolSpec = Type.Object({ name: Type.String(), description: Type.String(), parameters: Type.Record(Type.String(), Type.Unknown()) });
export type ToolSpec = Static<typeof ToolSpec>;

export const LlmJob = Type.Object({
  sessionId: Id,
  gatewayId: Id,
  tenantId: Id,
  responseId: Id,
  itemId: Id,
  audio: Type.Boolean(),
  instructions: Type.String(),
  voice: Type.String(),
  speed: Type.Number(),
  tools: Type.Array(ToolSpec),
  toolChoice: Type.Union([Type.Literal('auto'), Type.Literal('none'), Type.Literal('required'), Type.Object({ name: Type.String() })]),
  temperature: Type.Number(),
  maxOutputTokens: Type.Union([Type.Integer(), Type.Null()]),
  context: Type.Array(ContextItem),
  createdAt: Type.Number(),
});
export type LlmJob = Static<typeof LlmJob>;

export const TtsJob = Type.Object({
  sessionId: Id,
  gatewayId: Id,
  responseId: Id,
  itemId: Id,
  sentence: Type.Integer({ minimum: 0 }),
  text: Type.String({ maxLength: 100_000 }),
  voice: Type.String(),
  speed: Type.Number(),
  createdAt: Type.Number(),
});
export type TtsJob = Static<typeof TtsJob>;

/** Everything a stage tells the gateway that owns a session (JSON; TTS audio is binary, see headers). */
export const OutboxEvent = Type.Union([
  Type.Object({ kind: Type.Literal('vad.speech_started'), itemId: Id, audioStartMs: Type.Integer() }),
  Type.Object({ kind: Type.Literal('vad.speech_stopped'), itemId: Id, audioEndMs: Type.Integer(), speechEndAt: Type.Number() }),
  Type.Object({
    kind: Type.Literal('input.committed'),
    itemId: Id,
    audioStartMs: Type.Integer(),
    audioEndMs: Type.Integer(),
    samples: Type.Integer(),
    chunks: Type.Integer(),
    clientEventId: NullableStr,
    source: Type.Union([Type.Literal('vad'), Type.Literal('client'), Type.Literal('timeout')]),
  }),
  Type.Object({ kind: Type.Literal('input.timeout_triggered'), itemId: Id, audioStartMs: Type.Integer(), audioEndMs: Type.Integer() }),
  Type.Object({ kind: Type.Literal('input.cleared'), clientEventId: NullableStr }),
  Type.Object({ kind: Type.Literal('input.error'), code: Type.String(), message: Type.String(), clientEventId: NullableStr }),
  Type.Object({ kind: Type.Literal('stt.delta'), itemId: Id, delta: Type.String() }),
  Type.Object({ kind: Type.Literal('stt.completed'), itemId: Id, transcript: Type.String(), audioSeconds: Type.Number(), engine: Type.String() }),
  Type.Object({ kind: Type.Literal('stt.failed'), itemId: Id, error: ErrorInfo }),
  Type.Object({ kind: Type.Literal('llm.delta'), responseId: Id, seq: Type.Integer(), delta: Type.String() }),
  Type.Object({
    kind: Type.Literal('llm.function_call'),
    responseId: Id,
    index: Type.Integer(),
    callId: Type.String(),
    name: Type.String(),
    arguments: Type.String(),
  }),
  Type.Object({
    kind: Type.Literal('llm.done'),
    responseId: Id,
    seq: Type.Integer(),
    text: Type.String(),
    sentences: Type.Integer({ minimum: 0 }),
    finishReason: Type.String(),
    usage: Type.Object({ inputTokens: Type.Integer(), outputTokens: Type.Integer() }),
  }),
  Type.Object({ kind: Type.Literal('llm.failed'), responseId: Id, error: ErrorInfo }),
  Type.Object({ kind: Type.Literal('tts.sentence_done'), responseId: Id, sentence: Type.Integer(), chunks: Type.Integer(), audioMs: Type.Number() }),
  Type.Object({ kind: Type.Literal('tts.failed'), responseId: Id, sentence: Type.Integer(), chunks: Type.Integer(), error: ErrorInfo }),
  Type.Object({ kind: Type.Literal('job.dead'), stage: Type.String(), responseId: Type.Union([Id, Type.Null()]), itemId: Type.Union([Id, Type.Null()]), error: ErrorInfo }),
]);
export type OutboxEvent = Static<typeof OutboxEvent>;
export type OutboxKind = OutboxEvent['kind'];

export const PersistedItem = Type.Object({
  id: Id,
  type: Type.Union([Type.Literal('message'), Type.Literal('function_call'), Type.Literal('function_call_output')]),
  role: NullableStr,
  status: Type.String(),
  content: Type.Array(Type.Unknown()),
  transcript: NullableStr,
  callId: NullableStr,
  name: NullableStr,
  arguments: NullableStr,
  output: NullableStr,
});
export type PersistedItem = Static<typeof PersistedItem>;

/** The conversation log: one subject per session, copied into PostgreSQL and replayed on takeover. */
export const ConversationRecord = Type.Union([
  Type.Object({ kind: Type.Literal('session.opened'), sessionId: Id, tenantId: Id, model: Type.String(), at: Type.Number() }),
  Type.Object({ kind: Type.Literal('item.upserted'), sessionId: Id, tenantId: Id, item: PersistedItem, position: Type.Number(), version: Type.Integer(), at: Type.Number() }),
  Type.Object({ kind: Type.Literal('item.deleted'), sessionId: Id, itemId: Id, version: Type.Integer(), at: Type.Number() }),
  Type.Object({ kind: Type.Literal('session.closed'), sessionId: Id, reason: Type.String(), at: Type.Number() }),
]);
export type ConversationRecord = Static<typeof ConversationRecord>;

/** `at`: epoch ms when the cancel was published (workers measure how fast they stop). */
export const CancelNotice = Type.Object({ sessionId: Id, responseId: Id, reason: Type.String(), at: Type.Optional(Type.Number()) });
export type CancelNotice = Static<typeof CancelNotice>;

/** `body`: the parked message's data, base64; `attachmentAt`: where its binary attachment starts in those bytes, if it had one. */
export const DeadLetter = Type.Object({ stage: Type.String(), subject: Type.String(), deliveries: Type.Integer(), error: ErrorInfo, body: Type.String(), attachmentAt: Type.Optional(Type.Integer({ minimum: 0 })) });
export type DeadLetter = Static<typeof DeadLetter>;

/** Session state kept in the sessions KV bucket (key `s.<session>`), so any gateway can resume it. */
export const SessionRecord = Type.Object({
  id: Id,
  tenantId: Id,
  iface: Type.Union([Type.Literal('ga'), Type.Literal('beta')]),
  gatewayId: Id,
  /** The full effective session (GA shape, see schemas/realtime/session.ts SessionConfig). */
  config: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});
export type SessionRecord = Static<typeof SessionRecord>;

/** A VAD partition checkpoint (checkpoints bucket, key `vad.<partition>`). */
export const VadCheckpoint = Type.Object({ seq: Type.Integer({ minimum: 0 }), at: Type.Number(), holder: Type.String() });
export type VadCheckpoint = Static<typeof VadCheckpoint>;
