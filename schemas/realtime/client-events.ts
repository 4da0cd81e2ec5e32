// Client events of the Realtime protocol, GA and beta, as TypeBox schemas keyed by `type`.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  AudioFormatBeta,
  AudioFormatGa,
  ConversationItemInput,
  FunctionTool,
  MaxTokens,
  Metadata,
  PromptRef,
  ResponseInputItem,
  ToolChoice,
  Voice,
} from './common.ts';
import { SessionUpdateBeta, SessionUpdateGa, TranscriptionSessionUpdateBeta } from './session.ts';

const closed = { additionalProperties: false } as const;
const EventId = Type.Optional(Type.String({ maxLength: 512 }));
const ItemIdRef = Type.String({ minLength: 1, maxLength: 64 });
const Modalities = Type.Array(Type.Union([Type.Literal('text'), Type.Literal('audio')]), { minItems: 1, maxItems: 2 });

const ev = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), event_id: EventId, ...props }, closed);

export const ResponseCreateGa = Type.Object(
  {
    output_modalities: Type.Optional(Modalities),
    instructions: Type.Optional(Type.String({ maxLength: 256_000 })),
    audio: Type.Optional(
      Type.Object({ output: Type.Optional(Type.Object({ format: Type.Optional(AudioFormatGa), voice: Type.Optional(Voice) }, closed)) }, closed),
    ),
    tools: Type.Optional(Type.Array(FunctionTool, { maxItems: 128 })),
    tool_choice: Type.Optional(ToolChoice),
    max_output_tokens: Type.Optional(MaxTokens),
    conversation: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('none')])),
    metadata: Type.Optional(Metadata),
    input: Type.Optional(Type.Array(ResponseInputItem, { maxItems: 1024 })),
    prompt: Type.Optional(PromptRef),
    reasoning: Type.Optional(Type.Object({ effort: Type.Optional(Type.String()) }, closed)),
    parallel_tool_calls: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type ResponseCreateGa = Static<typeof ResponseCreateGa>;

export const ResponseCreateBeta = Type.Object(
  {
    modalities: Type.Optional(Modalities),
    instructions: Type.Optional(Type.String({ maxLength: 256_000 })),
    voice: Type.Optional(Voice),
    output_audio_format: Type.Optional(AudioFormatBeta),
    tools: Type.Optional(Type.Array(FunctionTool, { maxItems: 128 })),
    tool_choice: Type.Optional(ToolChoice),
    temperature: Type.Optional(Type.Number({ minimum: 0.6, maximum: 1.2 })),
    max_response_output_tokens: Type.Optional(MaxTokens),
    max_output_tokens: Type.Optional(MaxTokens),
    conversation: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('none')])),
    metadata: Type.Optional(Metadata),
    input: Type.Optional(Type.Array(ResponseInputItem, { maxItems: 1024 })),
  },
  closed,
);
export type ResponseCreateBeta = Static<typeof ResponseCreateBeta>;

const shared = {
  'input_audio_buffer.append': ev('input_audio_buffer.append', { audio: Type.String() }),
  'input_audio_buffer.commit': ev('input_audio_buffer.commit', {}),
  'input_audio_buffer.clear': ev('input_audio_buffer.clear', {}),
  'conversation.item.create': ev('conversation.item.create', {
    previous_item_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    item: ConversationItemInput,
  }),
  'conversation.item.retrieve': ev('conversation.item.retrieve', { item_id: ItemIdRef }),
  'conversation.item.truncate': ev('conversation.item.truncate', {
    item_id: ItemIdRef,
    content_index: Type.Integer({ minimum: 0 }),
    audio_end_ms: Type.Integer({ minimum: 0 }),
  }),
  'conversation.item.delete': ev('conversation.item.delete', { item_id: ItemIdRef }),
  'response.cancel': ev('response.cancel', { response_id: Type.Optional(Type.String({ maxLength: 64 })) }),
  'output_audio_buffer.clear': ev('output_audio_buffer.clear', {}),
} as const;

export const ClientEventsGa = {
  ...shared,
  'session.update': ev('session.update', { session: SessionUpdateGa }),
  'response.create': ev('response.create', { response: Type.Optional(ResponseCreateGa) }),
} as const;

export const ClientEventsBeta = {
  ...shared,
  'session.update': ev('session.update', { session: SessionUpdateBeta }),
  'transcription_session.update': ev('transcription_session.update', { session: TranscriptionSessionUpdateBeta }),
  'response.create': ev('response.create', { response: Type.Optional(ResponseCreateBeta) }),
} as const;

export type ClientEventTypeGa = keyof typeof ClientEventsGa;
export type ClientEventTypeBeta = keyof typeof ClientEventsBeta;
export type ClientEventType = ClientEventTypeGa | ClientEventTypeBeta;

type StaticMap<M extends Record<string, TSchema>> = { [K in keyof M]: Static<M[K]> }[keyof M];
export type ClientEventGa = StaticMap<typeof ClientEventsGa>;
export type ClientEventBeta = StaticMap<typeof ClientEventsBeta>;
export type ClientEvent = ClientEventGa | ClientEventBeta;

export type SessionUpdateGaEvent = Static<(typeof ClientEventsGa)['session.update']>;
export type SessionUpdateBetaEvent = Static<(typeof ClientEventsBeta)['session.update']>;
export type TranscriptionSessionUpdateBetaEvent = Static<(typeof ClientEventsBeta)['transcription_session.update']>;
export type ResponseCreateGaEvent = Static<(typeof ClientEventsGa)['response.create']>;
export type ResponseCreateBetaEvent = Static<(typeof ClientEventsBeta)['response.create']>;
export type ConversationItemCreateEvent = Static<(typeof shared)['conversation.item.create']>;
export type ConversationItemTruncateEvent = Static<(typeof shared)['conversation.item.truncate']>;
