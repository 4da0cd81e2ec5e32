// Client events in: parse, validate against the connection's interface (GA or beta), dispatch.
// Anything malformed gets an OpenAI-shaped `error` event with the offending event_id and `param`,
// and the session carries on. Runs synchronously up to the first await, so the uWS message buffer
// is never read after the callback returns.
import { ClientRequestError, errorMessage } from '../lib/errors.ts';
import { hotCounter, metrics } from '../lib/metrics.ts';
import type {
  ClientEvent,
  ConversationItemCreateEvent,
  ConversationItemTruncateEvent,
  ResponseCreateBetaEvent,
  ResponseCreateGaEvent,
  SessionUpdateBetaEvent,
  SessionUpdateGaEvent,
  TranscriptionSessionUpdateBetaEvent,
} from '../schemas/index.ts';
import { applyBetaUpdate, applyGaUpdate } from './session-config.ts';
import { scanPlainAppend } from './append-bytes.ts';
import { createItemFromClient, retrieveItem, truncateItem, deleteItem } from './items.ts';
import { responseOptionsFromBeta, responseOptionsFromGa } from './response-options.ts';
import type { RealtimeSession } from './session.ts';

const MAX_APPEND_BYTES = 15 * 1024 * 1024;
const APPEND = 'input_audio_buffer.append';
const decoder = new TextDecoder();

export function handleClientMessage(session: RealtimeSession, data: ArrayBuffer, isBinary: boolean): void {
  if (!isBinary && appendPlain(session, Buffer.from(data))) return;
  if (isBinary) {
    session.sendError(new ClientRequestError('invalid_event', 'Expected a text WebSocket message; binary frames are not supported.'), null);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    session.sendError(new ClientRequestError('invalid_json', `Invalid event: failed to parse JSON value. ${errorMessage(err)}`), null);
    return;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    session.sendError(new ClientRequestError('invalid_event', 'The event must be a JSON object.'), null);
    return;
  }
  const raw = parsed as Record<string, unknown>;
  const clientEventId = typeof raw['event_id'] === 'string' ? raw['event_id'] : null;
  const type = raw['type'];
  if (typeof type !== 'string') {
    session.sendError(new ClientRequestError('invalid_event', "The 'type' field is missing.", 'type'), clientEventId);
    return;
  }
  const validator = session.dialect.validator(type);
  if (!validator) {
    metrics.clientEvents.inc({ type: 'unknown' });
    const list = session.dialect.supportedTypes.map((t) => `'${t}'`).join(', ');
    session.sendError(new ClientRequestError('invalid_value', `Invalid value: '${type.slice(0, 100)}'. Supported values are: ${list}.`, 'type'), clientEventId);
    return;
  }
  eventCounter(type).inc();
  // The hot path: appends are checked by hand (a compiled schema would copy nothing but cost more).
  if (type === 'input_audio_buffer.append') {
    appendAudio(session, raw, clientEventId);
    return;
  }
  const checked = validator.validate(raw);
  if (!checked.ok) {
    session.sendError(new ClientRequestError(checked.error.code, checked.error.message, checked.error.param), clientEventId);
    return;
  }
  try {
    dispatch(session, checked.value as ClientEvent, clientEventId);
  } catch (err) {
    if (err instanceof ClientRequestError) session.sendError(err, clientEventId);
    else {
      session.log.error({ err: errorMessage(err), type }, 'client event handler failed');
      session.sendError(new ClientRequestError('internal_error', 'The server failed to process the event.'), clientEventId, 'server_error');
    }
  }
}

// One counter per known event type (a fixed set, checked above), counted in a plain number: a
// labelled inc() per append would hash its labels tens of thousands of times a second.
const eventCounters = new Map<string, { inc(): void }>();
function eventCounter(type: string): { inc(): void } {
  let counter = eventCounters.get(type);
  if (!counter) eventCounters.set(type, (counter = hotCounter(metrics.clientEvents, { type })));
  return counter;
}

function appendAudio(session: RealtimeSession, raw: Record<string, unknown>, clientEventId: string | null): void {
  const audio = raw['audio'];
  const extra = Object.keys(raw).find((k) => k !== 'type' && k !== 'event_id' && k !== 'audio');
  if (extra) {
    session.sendError(new ClientRequestError('unknown_parameter', `Unknown parameter: '${extra}'.`, extra), clientEventId);
    return;
  }
  if (typeof audio !== 'string') {
    const code = audio === undefined ? 'missing_required_parameter' : 'invalid_type';
    const msg = audio === undefined ? "Missing required parameter: 'audio'." : "Invalid type for 'audio': expected a base64-encoded string.";
    session.sendError(new ClientRequestError(code, msg, 'audio'), clientEventId);
    return;
  }
  const size = base64Size(audio);
  if (size === null) {
    notBase64(session, clientEventId);
    return;
  }
  if (size > MAX_APPEND_BYTES) {
    session.sendError(new ClientRequestError('invalid_value', `Invalid 'audio': at most ${MAX_APPEND_BYTES} bytes of audio per event.`, 'audio'), clientEventId);
    return;
  }
  const format = session.config.input_format.type;
  if (format === 'audio/pcm') {
    if (size % 2 !== 0) {
      session.sendError(new ClientRequestError('invalid_value', "Invalid 'audio': pcm16 audio must have an even number of bytes.", 'audio'), clientEventId);
      return;
    }
    // Decoded straight into the frame the gateway will publish: no buffer per append, no copy.
    if (!session.ingest.appendWith(size, (tail) => decodeBase64Into(audio, tail))) notBase64(session, clientEventId);
    return;
  }
  const bytes = decodeBase64Strict(audio);
  if (!bytes) {
    notBase64(session, clientEventId);
    return;
  }
  session.ingest.append(session.decodeG711(format === 'audio/pcmu' ? 'ulaw' : 'alaw', bytes));
}

/**
 * The hot path: a plain append (gateway/append-bytes.ts) of PCM16 decoded from the frame's bytes.
 * False when the event is anything else, or anything about it is wrong: then the general path
 * parses it and accepts or reports it exactly as it would have.
 */
function appendPlain(session: RealtimeSession, frame: Buffer): boolean {
  const plain = scanPlainAppend(frame);
  if (!plain || session.config.input_format.type !== 'audio/pcm' || !session.dialect.validator(APPEND)) return false;
  const audio = frame.toString('latin1', plain.audioStart, plain.audioEnd);
  const size = base64Size(audio);
  if (size === null || size > MAX_APPEND_BYTES || size % 2 !== 0) return false;
  if (!session.ingest.appendWith(size, (tail) => decodeBase64Into(audio, tail))) return false;
  eventCounter(APPEND).inc();
  return true;
}

// A module function, not a closure per append: the loader's keepNames wraps every named closure in
// a defineProperty call at its creation.
function notBase64(session: RealtimeSession, clientEventId: string | null): void {
  session.sendError(new ClientRequestError('invalid_value', "Invalid 'audio': expected base64-encoded audio bytes.", 'audio'), clientEventId);
}

/**
 * Base64 to bytes, refusing anything Node's lenient decoder would silently skip: the decoded
 * length must be exactly what the text length promises. (A regex over every append cost ~3% of
 * the gateway's CPU under load; this check is free.)
 */
export function decodeBase64Strict(text: string): Buffer | null {
  const size = base64Size(text);
  if (size === null) return null;
  const bytes = Buffer.allocUnsafe(size);
  return decodeBase64Into(text, bytes) ? bytes : null;
}

/** Bytes that well-formed base64 `text` decodes to; null when its length cannot be base64. */
export function base64Size(text: string): number | null {
  if (text.length % 4 !== 0) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - pad;
}

/**
 * Decode `text` into `target` (exactly base64Size(text) long); false unless it is well-formed.
 * Node's decoder skips what is not base64, so anything it skipped shows as a short count (it can
 * never produce more than base64Size, so filling `target` exactly means every character counted).
 */
export function decodeBase64Into(text: string, target: Buffer): boolean {
  return target.write(text, 'base64') === target.length;
}

function dispatch(session: RealtimeSession, ev: ClientEvent, clientEventId: string | null): void {
  switch (ev.type) {
    case 'session.update':
    case 'transcription_session.update':
      return updateSession(session, ev, clientEventId);
    case 'input_audio_buffer.append':
      return; // handled on the hot path
    case 'input_audio_buffer.commit':
      void session.ingest.control({ op: 'commit', clientEventId }).catch((err: unknown) => busError(session, err, clientEventId));
      return;
    case 'input_audio_buffer.clear':
      void session.ingest.control({ op: 'clear', clientEventId }).catch((err: unknown) => busError(session, err, clientEventId));
      return;
    case 'conversation.item.create':
      return createItemFromClient(session, ev as ConversationItemCreateEvent);
    case 'conversation.item.retrieve':
      return retrieveItem(session, ev.item_id, clientEventId);
    case 'conversation.item.truncate':
      return truncateItem(session, ev as ConversationItemTruncateEvent);
    case 'conversation.item.delete':
      return deleteItem(session, ev.item_id);
    case 'response.create':
      return createResponse(session, ev as ResponseCreateGaEvent | ResponseCreateBetaEvent);
    case 'response.cancel':
      return cancelResponse(session, ev.response_id);
    case 'output_audio_buffer.clear':
      throw new ClientRequestError('invalid_value', 'output_audio_buffer.clear is only available over WebRTC and SIP; over WebSocket, stop playback locally and send response.cancel.', 'type');
    default: {
      const never: never = ev;
      throw new ClientRequestError('invalid_value', `Unsupported event ${JSON.stringify(never)}`, 'type');
    }
  }
}

function busError(session: RealtimeSession, err: unknown, clientEventId: string | null): void {
  session.log.error({ err: errorMessage(err) }, 'input control could not be published');
  session.sendError(new ClientRequestError('server_error', 'The input audio buffer is temporarily unavailable; please retry.'), clientEventId, 'server_error');
}

function updateSession(session: RealtimeSession, ev: SessionUpdateGaEvent | SessionUpdateBetaEvent | TranscriptionSessionUpdateBetaEvent, clientEventId: string | null): void {
  if (session.dialect.kind === 'beta' && ev.type === 'transcription_session.update' && session.config.type !== 'transcription') {
    throw new ClientRequestError('invalid_value', 'transcription_session.update is only valid on a transcription session (?intent=transcription).', 'type');
  }
  const before = session.config;
  const ctx = { audioProduced: session.audioProduced };
  session.config =
    session.dialect.kind === 'ga'
      ? applyGaUpdate(before, (ev as SessionUpdateGaEvent).session, ctx)
      : applyBetaUpdate(before, (ev as SessionUpdateBetaEvent).session, ctx);
  const inputChanged =
    JSON.stringify([before.turn_detection, before.transcription]) !== JSON.stringify([session.config.turn_detection, session.config.transcription]);
  if (inputChanged) void session.pushInputConfig().catch((err: unknown) => busError(session, err, clientEventId));
  void session.saveState();
  session.sendSession('session.updated');
}

function createResponse(session: RealtimeSession, ev: ResponseCreateGaEvent | ResponseCreateBetaEvent): void {
  if (session.config.type === 'transcription') {
    throw new ClientRequestError('invalid_value', 'Transcription sessions do not create responses.', 'type');
  }
  const opts =
    session.dialect.kind === 'ga'
      ? responseOptionsFromGa(session, (ev as ResponseCreateGaEvent).response ?? {})
      : responseOptionsFromBeta(session, (ev as ResponseCreateBetaEvent).response ?? {});
  session.disarmIdleTimeout();
  if (opts.conversation === 'auto' && session.activeResponse?.active) {
    const id = session.activeResponse.id;
    throw new ClientRequestError(
      'conversation_already_has_active_response',
      `Conversation already has an active response in progress: ${id}. Wait until the response is finished before creating a new one.`,
    );
  }
  session.createResponse(opts);
}

function cancelResponse(session: RealtimeSession, responseId: string | undefined): void {
  const run = responseId ? session.responses.get(responseId) : session.activeResponse;
  if (!run || !run.active) throw new ClientRequestError('response_cancel_not_active', 'Cancellation failed: no active response found');
  session.cancelResponse(run, 'client_cancelled');
}
