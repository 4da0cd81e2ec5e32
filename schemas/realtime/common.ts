// Building blocks shared by the GA and beta Realtime shapes: audio formats, turn detection, tools,
// conversation items. One TypeBox definition gives both the static type and the compiled validator.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const closed = { additionalProperties: false } as const;

export const VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
export const Voice = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, closed)]);

/** GA audio format object. Only 24 kHz PCM is supported for audio/pcm, as in OpenAI's service. */
export const AudioFormatGa = Type.Union([
  Type.Object({ type: Type.Literal('audio/pcm'), rate: Type.Optional(Type.Integer({ minimum: 24000, maximum: 24000 })) }, closed),
  Type.Object({ type: Type.Literal('audio/pcmu') }, closed),
  Type.Object({ type: Type.Literal('audio/pcma') }, closed),
]);
export type AudioFormatGa = Static<typeof AudioFormatGa>;

export const AudioFormatBeta = Type.Union([Type.Literal('pcm16'), Type.Literal('g711_ulaw'), Type.Literal('g711_alaw')]);
export type AudioFormatBeta = Static<typeof AudioFormatBeta>;

/** The codec name used on the bus and in engines. */
export type AudioCodec = 'pcm16' | 'g711_ulaw' | 'g711_alaw';

export const Transcription = Type.Object(
  {
    model: Type.Optional(Type.String({ maxLength: 128 })),
    language: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    prompt: Type.Optional(Nullable(Type.String({ maxLength: 8192 }))),
  },
  closed,
);

export const NoiseReduction = Type.Object({ type: Type.Union([Type.Literal('near_field'), Type.Literal('far_field')]) }, closed);

export const ServerVad = Type.Object(
  {
    type: Type.Literal('server_vad'),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    prefix_padding_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    silence_duration_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    idle_timeout_ms: Type.Optional(Nullable(Type.Integer({ minimum: 5_000, maximum: 30_000 }))),
    create_response: Type.Optional(Type.Boolean()),
    interrupt_response: Type.Optional(Type.Boolean()),
  },
  closed,
);

export const SemanticVad = Type.Object(
  {
    type: Type.Literal('semantic_vad'),
    eagerness: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('auto')])),
    create_response: Type.Optional(Type.Boolean()),
    interrupt_response: Type.Optional(Type.Boolean()),
    // Sent by @openai/agents-realtime; accepted and ignored.
    model_version: Type.Optional(Type.String()),
  },
  closed,
);

export const TurnDetection = Nullable(Type.Union([ServerVad, SemanticVad]));
export type TurnDetectionInput = Static<typeof TurnDetection>;

export const FunctionTool = Type.Object(
  {
    type: Type.Literal('function'),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9_-]+$' }),
    description: Type.Optional(Type.String({ maxLength: 8192 })),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  closed,
);
export type FunctionTool = Static<typeof FunctionTool>;

export const ToolChoice = Type.Union([
  Type.Literal('auto'),
  Type.Literal('none'),
  Type.Literal('required'),
  Type.Object({ type: Type.Literal('function'), name: Type.String({ minLength: 1 }) }, closed),
]);
export type ToolChoice = Static<typeof ToolChoice>;

export const MaxTokens = Type.Union([Type.Integer({ minimum: 1, maximum: 4096 }), Type.Literal('inf')]);

export const Truncation = Type.Union([
  Type.Literal('auto'),
  Type.Literal('disabled'),
  Type.Object(
    {
      type: Type.Literal('retention_ratio'),
      retention_ratio: Type.Number({ minimum: 0, maximum: 1 }),
      token_limits: Type.Optional(Type.Object({ post_instructions: Type.Optional(Type.Integer({ minimum: 0 })) }, closed)),
    },
    closed,
  ),
]);

export const Tracing = Nullable(
  Type.Union([
    Type.Literal('auto'),
    Type.Object(
      {
        workflow_name: Type.Optional(Type.String()),
        group_id: Type.Optional(Type.String()),
        metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      closed,
    ),
  ]),
);

export const PromptRef = Nullable(
  Type.Object(
    { id: Type.String(), version: Type.Optional(Nullable(Type.String())), variables: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown()))) },
    closed,
  ),
);

export const Include = Nullable(Type.Array(Type.Literal('item.input_audio_transcription.logprobs'), { maxItems: 4 }));

export const Metadata = Nullable(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), { maxProperties: 16 }));

// Conversation items a client may create. Content part types of both interfaces are accepted here;
// the dialect decides which are legal for the connection's interface.
const ItemId = Type.String({ minLength: 1, maxLength: 32 });
const ItemStatus = Type.Union([Type.Literal('completed'), Type.Literal('incomplete'), Type.Literal('in_progress')]);

export const ContentPart = Type.Union([
  Type.Object({ type: Type.Literal('input_text'), text: Type.String() }, closed),
  Type.Object({ type: Type.Literal('input_audio'), audio: Type.Optional(Nullable(Type.String())), transcript: Type.Optional(Nullable(Type.String())) }, closed),
  Type.Object({ type: Type.Literal('input_image'), image_url: Type.String(), detail: Type.Optional(Type.String()) }, closed),
  Type.Object({ type: Type.Literal('output_text'), text: Type.String() }, closed),
  Type.Object({ type: Type.Literal('output_audio'), audio: Type.Optional(Nullable(Type.String())), transcript: Type.Optional(Nullable(Type.String())) }, closed),
  Type.Object({ type: Type.Literal('text'), text: Type.String() }, closed),
  Type.Object({ type: Type.Literal('audio'), audio: Type.Optional(Nullable(Type.String())), transcript: Type.Optional(Nullable(Type.String())) }, closed),
]);
export type ContentPartInput = Static<typeof ContentPart>;

const itemCommon = { id: Type.Optional(ItemId), object: Type.Optional(Type.Literal('realtime.item')), status: Type.Optional(ItemStatus) };

export const MessageItem = Type.Object(
  {
    ...itemCommon,
    type: Type.Literal('message'),
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system')]),
    content: Type.Array(ContentPart, { maxItems: 64 }),
  },
  closed,
);
export const FunctionCallItem = Type.Object(
  { ...itemCommon, type: Type.Literal('function_call'), call_id: Type.String({ minLength: 1, maxLength: 64 }), name: Type.String({ minLength: 1 }), arguments: Type.String() },
  closed,
);
export const FunctionCallOutputItem = Type.Object(
  { ...itemCommon, type: Type.Literal('function_call_output'), call_id: Type.String({ minLength: 1, maxLength: 64 }), output: Type.String() },
  closed,
);
export const ConversationItemInput = Type.Union([MessageItem, FunctionCallItem, FunctionCallOutputItem]);
export type ConversationItemInput = Static<typeof ConversationItemInput>;

export const ItemReference = Type.Object({ type: Type.Literal('item_reference'), id: ItemId }, closed);
export const ResponseInputItem = Type.Union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ItemReference]);
export type ResponseInputItem = Static<typeof ResponseInputItem>;
