// response.create parameters (GA and beta) merged over the session: per-response instructions,
// modalities, voice, tools, token cap, metadata, out-of-band responses and explicit `input`.
import { ClientRequestError } from '../lib/errors.ts';
import type { ConversationItem, ResponseCreateBeta, ResponseCreateGa, ResponseInputItem } from '../schemas/index.ts';
import { gaModalities, normalizeFormat } from './session-config.ts';
import { normalizeItem } from './items.ts';
import type { RealtimeSession, ResponseOptions } from './session.ts';

function resolveInput(session: RealtimeSession, input: ResponseInputItem[] | undefined): ConversationItem[] | null {
  if (input === undefined) return null;
  return input.map((entry, i) => {
    if (entry.type === 'item_reference') {
      const found = session.conversation.get(entry.id);
      if (!found) throw new ClientRequestError('invalid_value', `Item with id '${entry.id}' not found in the conversation.`, `response.input[${i}].id`);
      return found.item;
    }
    return normalizeItem(session, entry, `response.input[${i}]`);
  });
}

export function responseOptionsFromGa(session: RealtimeSession, r: ResponseCreateGa): ResponseOptions {
  const s = session.config;
  const modalities = r.output_modalities ? gaModalities(r.output_modalities, 'response.output_modalities') : s.output_modalities;
  const voice = r.audio?.output?.voice;
  return {
    conversation: r.conversation ?? 'auto',
    audio: modalities.includes('audio'),
    voice: voice === undefined ? s.voice : typeof voice === 'string' ? voice : voice.id,
    instructions: r.instructions ?? s.instructions,
    tools: r.tools ?? s.tools,
    toolChoice: r.tool_choice ?? s.tool_choice,
    temperature: s.temperature,
    maxOutputTokens: r.max_output_tokens ?? s.max_output_tokens,
    metadata: r.metadata ?? null,
    input: resolveInput(session, r.input),
    outputFormat: r.audio?.output?.format ? normalizeFormat(r.audio.output.format) : s.output_format,
  };
}

const BETA_FORMAT = { pcm16: { type: 'audio/pcm', rate: 24000 }, g711_ulaw: { type: 'audio/pcmu' }, g711_alaw: { type: 'audio/pcma' } } as const;

export function responseOptionsFromBeta(session: RealtimeSession, r: ResponseCreateBeta): ResponseOptions {
  const s = session.config;
  const audio = r.modalities ? r.modalities.includes('audio') : s.output_modalities.includes('audio');
  const voice = r.voice;
  return {
    conversation: r.conversation ?? 'auto',
    audio,
    voice: voice === undefined ? s.voice : typeof voice === 'string' ? voice : voice.id,
    instructions: r.instructions ?? s.instructions,
    tools: r.tools ?? s.tools,
    toolChoice: r.tool_choice ?? s.tool_choice,
    temperature: r.temperature ?? s.temperature,
    maxOutputTokens: r.max_response_output_tokens ?? r.max_output_tokens ?? s.max_output_tokens,
    metadata: r.metadata ?? null,
    input: resolveInput(session, r.input),
    outputFormat: r.output_audio_format ? BETA_FORMAT[r.output_audio_format] : s.output_format,
  };
}
