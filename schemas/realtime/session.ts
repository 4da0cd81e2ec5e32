// Session shapes. GA (nested `audio.input/output`, `type` required) and beta (flat) session.update
// payloads, and the full effective GA session that Parley keeps as its canonical session config.
import { Type, type Static } from '@sinclair/typebox';
import {
  AudioFormatBeta,
  AudioFormatGa,
  FunctionTool,
  Include,
  MaxTokens,
  NoiseReduction,
  Nullable,
  PromptRef,
  ToolChoice,
  Tracing,
  Transcription,
  Truncation,
  TurnDetection,
  Voice,
  type TurnDetectionInput,
} from './common.ts';

const closed = { additionalProperties: false } as const;
const Modalities = Type.Array(Type.Union([Type.Literal('text'), Type.Literal('audio')]), { minItems: 1, maxItems: 2 });

const AudioInputGa = Type.Object(
  {
    format: Type.Optional(AudioFormatGa),
    transcription: Type.Optional(Nullable(Transcription)),
    noise_reduction: Type.Optional(Nullable(NoiseReduction)),
    turn_detection: Type.Optional(TurnDetection),
  },
  closed,
);
const AudioOutputGa = Type.Object(
  { format: Type.Optional(AudioFormatGa), voice: Type.Optional(Voice), speed: Type.Optional(Type.Number({ minimum: 0.25, maximum: 1.5 })) },
  closed,
);

export const RealtimeSessionUpdateGa = Type.Object(
  {
    type: Type.Literal('realtime'),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    output_modalities: Type.Optional(Modalities),
    instructions: Type.Optional(Type.String({ maxLength: 256_000 })),
    audio: Type.Optional(Type.Object({ input: Type.Optional(AudioInputGa), output: Type.Optional(AudioOutputGa) }, closed)),
    tools: Type.Optional(Type.Array(FunctionTool, { maxItems: 128 })),
    tool_choice: Type.Optional(ToolChoice),
    max_output_tokens: Type.Optional(MaxTokens),
    truncation: Type.Optional(Truncation),
    tracing: Type.Optional(Tracing),
    prompt: Type.Optional(PromptRef),
    include: Type.Optional(Include),
    reasoning: Type.Optional(Type.Object({ effort: Type.Optional(Type.String()) }, closed)),
    parallel_tool_calls: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type RealtimeSessionUpdateGa = Static<typeof RealtimeSessionUpdateGa>;

export const TranscriptionSessionUpdateGa = Type.Object(
  {
    type: Type.Literal('transcription'),
    audio: Type.Optional(
      Type.Object(
        {
          input: Type.Optional(
            Type.Object(
              {
                format: Type.Optional(AudioFormatGa),
                transcription: Type.Optional(Nullable(Transcription)),
                noise_reduction: Type.Optional(Nullable(NoiseReduction)),
                turn_detection: Type.Optional(TurnDetection),
              },
              closed,
            ),
          ),
        },
        closed,
      ),
    ),
    include: Type.Optional(Include),
  },
  closed,
);
export type TranscriptionSessionUpdateGa = Static<typeof TranscriptionSessionUpdateGa>;

export const SessionUpdateGa = Type.Union([RealtimeSessionUpdateGa, TranscriptionSessionUpdateGa]);

/** Beta (`OpenAI-Beta: realtime=v1`) flat session. */
export const SessionUpdateBeta = Type.Object(
  {
    model: Type.Optional(Type.String({ maxLength: 128 })),
    modalities: Type.Optional(Modalities),
    instructions: Type.Optional(Type.String({ maxLength: 256_000 })),
    voice: Type.Optional(Voice),
    speed: Type.Optional(Type.Number({ minimum: 0.25, maximum: 1.5 })),
    input_audio_format: Type.Optional(AudioFormatBeta),
    output_audio_format: Type.Optional(AudioFormatBeta),
    input_audio_transcription: Type.Optional(Nullable(Transcription)),
    input_audio_noise_reduction: Type.Optional(Nullable(NoiseReduction)),
    turn_detection: Type.Optional(TurnDetection),
    tools: Type.Optional(Type.Array(FunctionTool, { maxItems: 128 })),
    tool_choice: Type.Optional(ToolChoice),
    temperature: Type.Optional(Type.Number({ minimum: 0.6, maximum: 1.2 })),
    max_response_output_tokens: Type.Optional(MaxTokens),
    tracing: Type.Optional(Tracing),
    truncation: Type.Optional(Truncation),
    prompt: Type.Optional(PromptRef),
    include: Type.Optional(Include),
    client_secret: Type.Optional(Type.Unknown()),
  },
  closed,
);
export type SessionUpdateBeta = Static<typeof SessionUpdateBeta>;

export const TranscriptionSessionUpdateBeta = Type.Object(
  {
    input_audio_format: Type.Optional(AudioFormatBeta),
    input_audio_transcription: Type.Optional(Nullable(Transcription)),
    input_audio_noise_reduction: Type.Optional(Nullable(NoiseReduction)),
    turn_detection: Type.Optional(TurnDetection),
    include: Type.Optional(Include),
    modalities: Type.Optional(Modalities),
    client_secret: Type.Optional(Type.Unknown()),
  },
  closed,
);
export type TranscriptionSessionUpdateBeta = Static<typeof TranscriptionSessionUpdateBeta>;

export type AudioFormat = Static<typeof AudioFormatGa>;
export type ServerVadConfig = {
  type: 'server_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  idle_timeout_ms: number | null;
  create_response: boolean;
  interrupt_response: boolean;
};
export type SemanticVadConfig = { type: 'semantic_vad'; eagerness: 'low' | 'medium' | 'high' | 'auto'; create_response: boolean; interrupt_response: boolean };
export type TurnDetectionConfig = ServerVadConfig | SemanticVadConfig | null;

/** OpenAI's documented server_vad defaults, used for new sessions and for fields an update omits. */
export const DEFAULT_SERVER_VAD: Readonly<ServerVadConfig> = Object.freeze({
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  idle_timeout_ms: null,
  create_response: true,
  interrupt_response: true,
});

/**
 * The full effective session Parley keeps for every connection, in the GA shape plus the few
 * beta-only fields (temperature). Everything sent to clients is rendered from this object.
 */
export interface SessionConfig {
  type: 'realtime' | 'transcription';
  id: string;
  model: string;
  output_modalities: Array<'text' | 'audio'>;
  instructions: string;
  input_format: AudioFormat;
  output_format: AudioFormat;
  voice: string;
  speed: number;
  transcription: { model: string; language: string | null; prompt: string | null } | null;
  noise_reduction: { type: 'near_field' | 'far_field' } | null;
  turn_detection: TurnDetectionConfig;
  tools: FunctionTool[];
  tool_choice: Static<typeof ToolChoice>;
  temperature: number;
  max_output_tokens: number | 'inf';
  truncation: Static<typeof Truncation>;
  tracing: Static<typeof Tracing>;
  prompt: Static<typeof PromptRef>;
  include: Static<typeof Include>;
  expires_at: number;
}

export type TurnDetectionPatch = TurnDetectionInput;
export type { FunctionTool, ToolChoice };
