// GA vs beta on the wire. Sessions speak GA internally; for a beta client (`OpenAI-Beta:
// realtime=v1`) events are renamed, item content types become `text` / `audio`, the user item is
// announced once (`conversation.item.created`, no `.done`) and response objects take the beta shape.
import { ClientEventsBeta, ClientEventsGa, compileValidator, type ConversationItem, type Validator } from '../schemas/index.ts';
import { betaFormat, renderBetaSession, renderGaSession } from './session-config.ts';
import type { SessionConfig } from '../schemas/index.ts';

export type Interface = 'ga' | 'beta';

const BETA_NAMES: Record<string, string | null> = {
  'response.output_audio.delta': 'response.audio.delta',
  'response.output_audio.done': 'response.audio.done',
  'response.output_audio_transcript.delta': 'response.audio_transcript.delta',
  'response.output_audio_transcript.done': 'response.audio_transcript.done',
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
  'conversation.item.added': 'conversation.item.created',
  'conversation.item.done': null,
};

function betaItem(item: ConversationItem): unknown {
  if (item.type !== 'message') return item;
  return {
    ...item,
    content: item.content.map((p) => (p.type === 'output_text' ? { ...p, type: 'text' } : p.type === 'output_audio' ? { ...p, type: 'audio' } : p)),
  };
}

function gaResponse(r: Record<string, unknown>): Record<string, unknown> {
  const { temperature: _t, ...rest } = r;
  return rest;
}

function betaResponse(r: Record<string, unknown>): Record<string, unknown> {
  const { output_modalities, audio, output, ...rest } = r as {
    output_modalities: string[];
    audio: { output: { format: SessionConfig['output_format']; voice: string } };
    output: ConversationItem[];
  } & Record<string, unknown>;
  return {
    ...rest,
    output: output.map(betaItem),
    modalities: output_modalities.includes('audio') ? ['text', 'audio'] : ['text'],
    voice: audio.output.voice,
    output_audio_format: betaFormat(audio.output.format),
  };
}

type Schemas = Record<string, Parameters<typeof compileValidator>[0]>;

function compileAll(schemas: Schemas): Map<string, Validator<unknown>> {
  return new Map(Object.entries(schemas).map(([type, schema]) => [type, compileValidator(schema) as Validator<unknown>]));
}

const validatorsGa = compileAll(ClientEventsGa);
const validatorsBeta = compileAll(ClientEventsBeta);

export interface Dialect {
  readonly kind: Interface;
  /** The validator for a client event type, or undefined when the type is not part of this interface. */
  validator(type: string): Validator<unknown> | undefined;
  readonly supportedTypes: readonly string[];
  /** Rename and reshape a GA event for the wire; null when this interface has no such event. */
  render(event: Record<string, unknown>): Record<string, unknown> | null;
  renderSession(s: SessionConfig): Record<string, unknown>;
}

export function dialectFor(kind: Interface): Dialect {
  if (kind === 'ga') {
    return {
      kind,
      validator: (t) => validatorsGa.get(t),
      supportedTypes: [...validatorsGa.keys()],
      render: (e) => (e['response'] ? { ...e, response: gaResponse(e['response'] as Record<string, unknown>) } : e),
      renderSession: renderGaSession,
    };
  }
  return {
    kind,
    validator: (t) => validatorsBeta.get(t),
    supportedTypes: [...validatorsBeta.keys()],
    render(e) {
      const type = e['type'] as string;
      const renamed = Object.hasOwn(BETA_NAMES, type) ? BETA_NAMES[type] : type;
      if (renamed === null || renamed === undefined) return null;
      const out: Record<string, unknown> = { ...e, type: renamed };
      if (out['item']) out['item'] = betaItem(out['item'] as ConversationItem);
      if (out['response']) out['response'] = betaResponse(out['response'] as Record<string, unknown>);
      if (type === 'session.created' || type === 'session.updated') {
        const s = out['session'] as { object?: string };
        if (s.object === 'realtime.transcription_session') out['type'] = type.replace('session.', 'transcription_session.');
      }
      return out;
    },
    renderSession: renderBetaSession,
  };
}
