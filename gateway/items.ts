// Client-side conversation editing: conversation.item.create / retrieve / truncate / delete, with
// the checks OpenAI makes (item id length and uniqueness, previous_item_id must exist, a
// function_call_output must answer a known call, assistant audio cannot be created).
import { ClientRequestError, errorMessage } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { readUtterance, storeUtterance, utteranceChunks } from '../lib/nats/utterances.ts';
import { G711Decoder, G711Encoder, concatBytes } from '../lib/audio/index.ts';
import type { ContentPartInput, ConversationItem, ConversationItemCreateEvent, ConversationItemInput, ConversationItemTruncateEvent, ItemContentPart } from '../schemas/index.ts';
import type { RealtimeSession } from './session.ts';

function normalizePart(part: ContentPartInput, role: 'user' | 'assistant' | 'system', param: string): ItemContentPart {
  switch (part.type) {
    case 'input_text':
    case 'text':
      if (role === 'assistant') return { type: 'output_text', text: part.text };
      return { type: 'input_text', text: part.text };
    case 'output_text':
      if (role !== 'assistant') throw new ClientRequestError('invalid_value', `Invalid value: 'output_text'. Content of a ${role} message must be input_text${role === 'user' ? ', input_audio or input_image' : ''}.`, `${param}.type`);
      return { type: 'output_text', text: part.text };
    case 'input_audio':
      if (role !== 'user') throw new ClientRequestError('invalid_value', `Invalid value: 'input_audio'. Only user messages can carry input audio.`, `${param}.type`);
      return { type: 'input_audio', transcript: part.transcript ?? null };
    case 'input_image':
      if (role !== 'user') throw new ClientRequestError('invalid_value', `Invalid value: 'input_image'. Only user messages can carry images.`, `${param}.type`);
      return { type: 'input_image', image_url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) };
    case 'output_audio':
    case 'audio':
      if (role !== 'assistant') throw new ClientRequestError('invalid_value', `Invalid value: '${part.type}'. Only assistant messages carry output audio.`, `${param}.type`);
      if (part.audio) throw new ClientRequestError('invalid_value', 'Cannot create assistant messages with audio; send the transcript only.', `${param}.audio`);
      return { type: 'output_audio', transcript: part.transcript ?? '' };
    default: {
      const never: never = part;
      return never;
    }
  }
}

export function normalizeItem(session: RealtimeSession, input: ConversationItemInput, param: string): ConversationItem {
  const id = input.id ?? newId('item');
  switch (input.type) {
    case 'message':
      return {
        id,
        object: 'realtime.item',
        type: 'message',
        status: 'completed',
        role: input.role,
        content: input.content.map((p, i) => normalizePart(p, input.role, `${param}.content[${i}]`)),
      };
    case 'function_call':
      return { id, object: 'realtime.item', type: 'function_call', status: 'completed', call_id: input.call_id, name: input.name, arguments: input.arguments };
    case 'function_call_output': {
      const known = session.conversation.list().some((i) => i.type === 'function_call' && i.call_id === input.call_id);
      if (!known) {
        throw new ClientRequestError('invalid_value', `No tool call found for function call output with call_id ${input.call_id}.`, `${param}.call_id`);
      }
      return { id, object: 'realtime.item', type: 'function_call_output', status: 'completed', call_id: input.call_id, output: input.output };
    }
    default: {
      const never: never = input;
      return never;
    }
  }
}

export function createItemFromClient(session: RealtimeSession, ev: ConversationItemCreateEvent): void {
  if (ev.item.id && session.conversation.has(ev.item.id)) {
    throw new ClientRequestError('invalid_value', `Item with id '${ev.item.id}' already exists.`, 'item.id');
  }
  const prev = ev.previous_item_id;
  if (prev && prev !== 'root' && !session.conversation.has(prev)) {
    throw new ClientRequestError('invalid_value', `Error adding item: the previous item with id '${prev}' does not exist.`, 'previous_item_id');
  }
  const item = normalizeItem(session, ev.item, 'item');
  const audio = userAudioOf(session, ev.item);
  if (!audio) {
    session.addItem(item, prev ?? undefined);
    return;
  }
  // A user message carrying audio: store it like a spoken turn and transcribe it (unless the
  // client sent a transcript), so the model hears what was said.
  const needsTranscript = item.type === 'message' && item.content.some((p) => p.type === 'input_audio' && p.transcript === null);
  session.addItem(item, prev ?? undefined, { utteranceChunks: utteranceChunks(audio), transcriptPending: needsTranscript });
  const owner = { sessionId: session.id, gatewayId: session.deps.gatewayId, tenantId: session.tenantId, itemId: item.id, transcription: session.config.transcription };
  storeUtterance(session.deps.bus, owner, audio, { transcribe: needsTranscript }).catch(
    (err: unknown) => {
      session.log.error({ err: errorMessage(err) }, 'input audio of a created item could not be stored');
      session.transcriptSettled(item.id);
    },
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The PCM16 24 kHz audio of the first input_audio part that carries audio, if any. */
function userAudioOf(session: RealtimeSession, input: ConversationItemInput): Uint8Array | null {
  if (input.type !== 'message' || input.role !== 'user') return null;
  const part = input.content.find((p) => p.type === 'input_audio' && p.audio);
  if (!part || part.type !== 'input_audio' || !part.audio) return null;
  const index = input.content.indexOf(part);
  if (part.audio.length % 4 !== 0 || !BASE64.test(part.audio)) {
    throw new ClientRequestError('invalid_value', "Invalid 'audio': expected base64-encoded audio bytes.", `item.content[${index}].audio`);
  }
  const bytes = Buffer.from(part.audio, 'base64');
  const format = session.config.input_format.type;
  if (format === 'audio/pcm') {
    if (bytes.length % 2 !== 0) throw new ClientRequestError('invalid_value', "Invalid 'audio': pcm16 audio must have an even number of bytes.", `item.content[${index}].audio`);
    return new Uint8Array(bytes);
  }
  const decoder = new G711Decoder(format === 'audio/pcmu' ? 'ulaw' : 'alaw');
  return concatBytes([decoder.decode(bytes), decoder.flush()]);
}

export function retrieveItem(session: RealtimeSession, itemId: string, clientEventId: string | null): void {
  const entry = session.conversation.get(itemId);
  if (!entry) throw new ClientRequestError('item_not_found', `Item with item_id '${itemId}' not found.`, 'item_id');
  const chunks = entry.meta.utteranceChunks;
  if (!chunks || entry.item.type !== 'message') {
    session.send({ type: 'conversation.item.retrieved', item: entry.item });
    return;
  }
  // User audio lives in the utterance stream; fetch it back for the client.
  const item = entry.item;
  readUtterance(session.deps.bus, session.id, itemId, chunks)
    .then((pcm) => {
      // Audio goes back in the session's input format, as it came in.
      const format = session.config.input_format.type;
      let wire = pcm;
      if (format !== 'audio/pcm') {
        const encoder = new G711Encoder(format === 'audio/pcmu' ? 'ulaw' : 'alaw');
        wire = concatBytes([encoder.encode(pcm), encoder.flush()]);
      }
      const audio = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('base64');
      const content = item.content.map((p) => (p.type === 'input_audio' ? { ...p, audio } : p));
      session.send({ type: 'conversation.item.retrieved', item: { ...item, content } });
    })
    .catch((err: unknown) => {
      session.log.warn({ err: errorMessage(err), item: itemId }, 'item audio unavailable for retrieve');
      session.send({ type: 'conversation.item.retrieved', item });
    });
  void clientEventId;
}

export function truncateItem(session: RealtimeSession, ev: ConversationItemTruncateEvent): void {
  const entry = session.conversation.get(ev.item_id);
  if (!entry) throw new ClientRequestError('item_not_found', `Item with item_id '${ev.item_id}' not found.`, 'item_id');
  const item = entry.item;
  if (item.type !== 'message' || item.role !== 'assistant') {
    throw new ClientRequestError('invalid_value', 'Only assistant messages can be truncated.', 'item_id');
  }
  const partIndex = item.content.findIndex((p) => p.type === 'output_audio');
  if (ev.content_index !== partIndex || partIndex < 0) {
    throw new ClientRequestError('invalid_value', `Invalid content_index ${ev.content_index}: the item has no audio at that index.`, 'content_index');
  }
  const audioMs = entry.meta.audioMs ?? 0;
  if (ev.audio_end_ms > audioMs) {
    throw new ClientRequestError('invalid_value', `audio_end_ms ${ev.audio_end_ms} is longer than the item's audio (${Math.floor(audioMs)} ms).`, 'audio_end_ms');
  }
  const part = item.content[partIndex] as Extract<ItemContentPart, { type: 'output_audio' }>;
  // The unheard part of the transcript is dropped, proportionally to the audio that was played.
  const keep = audioMs > 0 ? Math.floor((part.transcript.length * ev.audio_end_ms) / audioMs) : 0;
  const cut = part.transcript.slice(0, keep);
  const atWord = keep < part.transcript.length ? cut.replace(/\s+\S*$/, '') : cut;
  item.content[partIndex] = { type: 'output_audio', transcript: atWord };
  entry.meta.audioMs = ev.audio_end_ms;
  session.persistItem(item);
  session.send({ type: 'conversation.item.truncated', item_id: ev.item_id, content_index: ev.content_index, audio_end_ms: ev.audio_end_ms });
}

export function deleteItem(session: RealtimeSession, itemId: string): void {
  const entry = session.conversation.get(itemId);
  if (!entry) throw new ClientRequestError('item_not_found', `Item with item_id '${itemId}' not found.`, 'item_id');
  const version = entry.meta.version + 1;
  session.conversation.delete(itemId);
  session.record({ kind: 'item.deleted', sessionId: session.id, itemId, version, at: Date.now() }, `${session.id}:item:${itemId}:${version}`);
  session.send({ type: 'conversation.item.deleted', item_id: itemId });
}
