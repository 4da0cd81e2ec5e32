// The effective session of a connection: defaults, applying GA and beta `session.update` payloads
// (a rejected update changes nothing), and rendering the full session object in either shape.
import { ClientRequestError } from '../lib/errors.ts';
import { DEFAULT_SERVER_VAD } from '../schemas/index.ts';
import type {
  AudioFormat,
  AudioFormatBeta,
  RealtimeSessionUpdateGa,
  SessionConfig,
  SessionUpdateBeta,
  TranscriptionSessionUpdateBeta,
  TranscriptionSessionUpdateGa,
  TurnDetectionConfig,
  TurnDetectionPatch,
} from '../schemas/index.ts';

export const DEFAULT_INSTRUCTIONS = 'You are a helpful, friendly voice assistant. Answer briefly and clearly.';
const PCM: AudioFormat = { type: 'audio/pcm', rate: 24000 };

export function defaultSession(opts: { id: string; model: string; type: 'realtime' | 'transcription'; expiresAt: number }): SessionConfig {
  return {
    type: opts.type,
    id: opts.id,
    model: opts.model,
    output_modalities: ['audio'],
    instructions: DEFAULT_INSTRUCTIONS,
    input_format: { ...PCM },
    output_format: { ...PCM },
    voice: 'alloy',
    speed: 1,
    transcription: null,
    noise_reduction: null,
    turn_detection: { ...DEFAULT_SERVER_VAD },
    tools: [],
    tool_choice: 'auto',
    temperature: 0.8,
    max_output_tokens: 'inf',
    truncation: 'auto',
    tracing: null,
    prompt: null,
    include: null,
    expires_at: opts.expiresAt,
  };
}

/** A provided turn_detection object replaces the old one; missing fields take their defaults. */
export function turnDetectionFrom(patch: TurnDetectionPatch): TurnDetectionConfig {
  if (patch === null) return null;
  if (patch.type === 'server_vad') {
    const d = DEFAULT_SERVER_VAD;
    return {
      type: 'server_vad',
      threshold: patch.threshold ?? d.threshold,
      prefix_padding_ms: patch.prefix_padding_ms ?? d.prefix_padding_ms,
      silence_duration_ms: patch.silence_duration_ms ?? d.silence_duration_ms,
      idle_timeout_ms: patch.idle_timeout_ms ?? d.idle_timeout_ms,
      create_response: patch.create_response ?? d.create_response,
      interrupt_response: patch.interrupt_response ?? d.interrupt_response,
    };
  }
  return {
    type: 'semantic_vad',
    eagerness: patch.eagerness ?? 'auto',
    create_response: patch.create_response ?? true,
    interrupt_response: patch.interrupt_response ?? true,
  };
}

function transcriptionFrom(t: { model?: string; language?: string | null; prompt?: string | null } | null): SessionConfig['transcription'] {
  if (t === null) return null;
  return { model: t.model ?? 'whisper-1', language: t.language ?? null, prompt: t.prompt ?? null };
}

const BETA_FORMATS: Record<AudioFormatBeta, AudioFormat> = {
  pcm16: PCM,
  g711_ulaw: { type: 'audio/pcmu' },
  g711_alaw: { type: 'audio/pcma' },
};

export function betaFormat(f: AudioFormat): AudioFormatBeta {
  return f.type === 'audio/pcmu' ? 'g711_ulaw' : f.type === 'audio/pcma' ? 'g711_alaw' : 'pcm16';
}

export function normalizeFormat(f: AudioFormat): AudioFormat {
  return f.type === 'audio/pcm' ? { ...PCM } : { ...f };
}

interface UpdateContext {
  /** The voice cannot change once the session has produced audio. */
  readonly audioProduced: boolean;
}

function checkModel(cur: SessionConfig, model: string | undefined): void {
  if (model !== undefined && model !== cur.model) {
    throw new ClientRequestError('invalid_value', `Cannot change the session model from '${cur.model}' to '${model}'.`, 'session.model');
  }
}

function checkVoice(cur: SessionConfig, voice: string | { id: string } | undefined, ctx: UpdateContext, param: string): string | undefined {
  if (voice === undefined) return undefined;
  const v = typeof voice === 'string' ? voice : voice.id;
  if (v !== cur.voice && ctx.audioProduced) {
    throw new ClientRequestError('cannot_update_voice', 'Cannot update a conversation\'s voice if assistant audio is present.', param);
  }
  return v;
}

/** GA takes exactly one output modality: ['audio'] (with its transcript) or ['text']. */
export function gaModalities(m: Array<'text' | 'audio'>, param: string): Array<'text' | 'audio'> {
  const set = new Set(m);
  if (set.size === 1) return [...set];
  throw new ClientRequestError('invalid_value', "Invalid modalities. Supported combinations are: ['text'] and ['audio'].", param);
}

export function applyGaUpdate(cur: SessionConfig, u: RealtimeSessionUpdateGa | TranscriptionSessionUpdateGa, ctx: UpdateContext): SessionConfig {
  if (u.type !== cur.type) {
    throw new ClientRequestError('invalid_value', `Invalid value: '${u.type}'. This is a ${cur.type} session; session.type must be '${cur.type}'.`, 'session.type');
  }
  const next: SessionConfig = structuredClone(cur);
  const input = u.audio?.input;
  if (input?.format) next.input_format = normalizeFormat(input.format);
  if (input && 'transcription' in input && input.transcription !== undefined) next.transcription = transcriptionFrom(input.transcription);
  if (input && input.noise_reduction !== undefined) next.noise_reduction = input.noise_reduction;
  if (input && input.turn_detection !== undefined) next.turn_detection = turnDetectionFrom(input.turn_detection);
  if (u.include !== undefined) next.include = u.include;
  if (u.type === 'realtime') {
    checkModel(cur, u.model);
    const output = u.audio?.output;
    if (output?.format) next.output_format = normalizeFormat(output.format);
    const voice = checkVoice(cur, output?.voice, ctx, 'session.audio.output.voice');
    if (voice) next.voice = voice;
    if (output?.speed !== undefined) next.speed = output.speed;
    if (u.output_modalities) next.output_modalities = gaModalities(u.output_modalities, 'session.output_modalities');
    if (u.instructions !== undefined) next.instructions = u.instructions;
    if (u.tools !== undefined) next.tools = u.tools;
    if (u.tool_choice !== undefined) next.tool_choice = u.tool_choice;
    if (u.max_output_tokens !== undefined) next.max_output_tokens = u.max_output_tokens;
    if (u.truncation !== undefined) next.truncation = u.truncation;
    if (u.tracing !== undefined) next.tracing = u.tracing;
    if (u.prompt !== undefined) next.prompt = u.prompt;
  }
  return next;
}

export function applyBetaUpdate(cur: SessionConfig, u: SessionUpdateBeta | TranscriptionSessionUpdateBeta, ctx: UpdateContext): SessionConfig {
  const next: SessionConfig = structuredClone(cur);
  if (u.input_audio_format) next.input_format = BETA_FORMATS[u.input_audio_format];
  if (u.input_audio_transcription !== undefined) next.transcription = transcriptionFrom(u.input_audio_transcription);
  if (u.input_audio_noise_reduction !== undefined) next.noise_reduction = u.input_audio_noise_reduction;
  if (u.turn_detection !== undefined) next.turn_detection = turnDetectionFrom(u.turn_detection);
  if (u.include !== undefined) next.include = u.include;
  if ('output_audio_format' in u || 'instructions' in u || 'voice' in u || 'model' in u) {
    const r = u as SessionUpdateBeta;
    checkModel(cur, r.model);
    if (r.output_audio_format) next.output_format = BETA_FORMATS[r.output_audio_format];
    const voice = checkVoice(cur, r.voice, ctx, 'session.voice');
    if (voice) next.voice = voice;
  }
  const r = u as SessionUpdateBeta;
  if (r.modalities) next.output_modalities = r.modalities.includes('audio') ? ['audio'] : ['text'];
  if (r.instructions !== undefined) next.instructions = r.instructions;
  if (r.speed !== undefined) next.speed = r.speed;
  if (r.tools !== undefined) next.tools = r.tools;
  if (r.tool_choice !== undefined) next.tool_choice = r.tool_choice;
  if (r.temperature !== undefined) next.temperature = r.temperature;
  if (r.max_response_output_tokens !== undefined) next.max_output_tokens = r.max_response_output_tokens;
  if (r.truncation !== undefined) next.truncation = r.truncation;
  if (r.tracing !== undefined) next.tracing = r.tracing;
  if (r.prompt !== undefined) next.prompt = r.prompt;
  return next;
}

function gaTurnDetection(td: TurnDetectionConfig, transcriptionOnly: boolean): unknown {
  if (td === null || !transcriptionOnly) return td;
  if (td.type === 'server_vad') {
    return { type: td.type, threshold: td.threshold, prefix_padding_ms: td.prefix_padding_ms, silence_duration_ms: td.silence_duration_ms };
  }
  return { type: td.type, eagerness: td.eagerness };
}

export function renderGaSession(s: SessionConfig): Record<string, unknown> {
  if (s.type === 'transcription') {
    return {
      type: 'transcription',
      object: 'realtime.transcription_session',
      id: s.id,
      expires_at: s.expires_at,
      audio: {
        input: { format: s.input_format, transcription: s.transcription, noise_reduction: s.noise_reduction, turn_detection: gaTurnDetection(s.turn_detection, true) },
      },
      include: s.include,
    };
  }
  return {
    type: 'realtime',
    object: 'realtime.session',
    id: s.id,
    model: s.model,
    output_modalities: s.output_modalities,
    instructions: s.instructions,
    tools: s.tools,
    tool_choice: s.tool_choice,
    max_output_tokens: s.max_output_tokens,
    tracing: s.tracing,
    truncation: s.truncation,
    prompt: s.prompt,
    expires_at: s.expires_at,
    audio: {
      input: { format: s.input_format, transcription: s.transcription, noise_reduction: s.noise_reduction, turn_detection: s.turn_detection },
      output: { format: s.output_format, voice: s.voice, speed: s.speed },
    },
    include: s.include,
  };
}

export function renderBetaSession(s: SessionConfig): Record<string, unknown> {
  const turn = s.turn_detection;
  if (s.type === 'transcription') {
    return {
      id: s.id,
      object: 'realtime.transcription_session',
      expires_at: s.expires_at,
      modalities: ['text'],
      input_audio_format: betaFormat(s.input_format),
      input_audio_transcription: s.transcription,
      turn_detection: gaTurnDetection(turn, true),
      input_audio_noise_reduction: s.noise_reduction,
      include: s.include,
      client_secret: null,
    };
  }
  return {
    id: s.id,
    object: 'realtime.session',
    model: s.model,
    expires_at: s.expires_at,
    modalities: s.output_modalities.includes('audio') ? ['text', 'audio'] : ['text'],
    instructions: s.instructions,
    voice: s.voice,
    speed: s.speed,
    input_audio_format: betaFormat(s.input_format),
    output_audio_format: betaFormat(s.output_format),
    input_audio_transcription: s.transcription,
    input_audio_noise_reduction: s.noise_reduction,
    turn_detection: turn,
    tools: s.tools,
    tool_choice: s.tool_choice,
    temperature: s.temperature,
    max_response_output_tokens: s.max_output_tokens,
    tracing: s.tracing,
    truncation: s.truncation,
    prompt: s.prompt,
    include: s.include,
    client_secret: null,
  };
}
