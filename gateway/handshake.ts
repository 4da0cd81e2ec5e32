// The WebSocket handshake of /v1/realtime as OpenAI's clients perform it: the key comes in an
// `Authorization: Bearer` header or an `openai-insecure-api-key.<key>` subprotocol; beta is chosen
// by `OpenAI-Beta: realtime=v1` or the `openai-beta.realtime-v1` subprotocol; exactly one of
// `?model=`, `?intent=transcription` (or `?call_id=`) is given. Like OpenAI, the upgrade always
// succeeds and refusals arrive as an `error` event followed by close 3000 (auth) or 4000 (shape).
import type { Interface } from './dialect.ts';

export interface HandshakeRequest {
  readonly query: string;
  readonly authorization: string;
  readonly protocols: string;
  readonly openaiBeta: string;
  /** Parley extension: resume a session on this gateway (header `Parley-Session-Id`). */
  readonly sessionHeader?: string;
}

export interface HandshakeRefusal {
  readonly code: string | null;
  readonly message: string;
  readonly type: 'invalid_request_error';
  readonly closeCode: 3000 | 4000;
}

export interface Handshake {
  readonly apiKey: string | null;
  readonly iface: Interface;
  readonly kind: 'realtime' | 'transcription';
  readonly model: string | null;
  /** The subprotocol to answer with ('' when none was offered). */
  readonly protocol: string;
  /** Parley extension: the session to resume (`?session_id=` or `Parley-Session-Id`), if any. */
  readonly resumeSessionId: string | null;
  readonly refusal: HandshakeRefusal | null;
}

const KEY_PROTOCOL = 'openai-insecure-api-key.';

export function parseHandshake(req: HandshakeRequest): Handshake {
  const offered = req.protocols
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const keyFromProtocol = offered.find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length) ?? null;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.authorization.trim())?.[1]?.trim() ?? null;
  const apiKey = bearer || keyFromProtocol || null;
  const beta = /realtime\s*=\s*v1/i.test(req.openaiBeta) || offered.includes('openai-beta.realtime-v1');
  // Browsers and `ws` fail the handshake unless one of the offered protocols is selected; never
  // echo the key protocol when anything else was offered.
  const protocol = offered.includes('realtime') ? 'realtime' : (offered.find((p) => !p.startsWith(KEY_PROTOCOL)) ?? offered[0] ?? '');
  const params = new URLSearchParams(req.query);
  const model = params.get('model');
  const intent = params.get('intent');
  const callId = params.get('call_id');
  const resume = params.get('session_id') ?? (req.sessionHeader || null);
  const base = { apiKey, iface: (beta ? 'beta' : 'ga') as Interface, protocol, resumeSessionId: resume };

  const refuse = (code: string | null, message: string, closeCode: 3000 | 4000, kind: 'realtime' | 'transcription' = 'realtime'): Handshake => ({
    ...base,
    kind,
    model,
    refusal: { code, message, type: 'invalid_request_error', closeCode },
  });

  if (!apiKey) return refuse(null, 'Missing bearer or basic authentication in header', 3000);
  if (resume !== null && !/^sess_[A-Za-z0-9_-]{1,60}$/.test(resume)) return refuse('invalid_session_id', 'Invalid session_id: expected an id like sess_… from session.created.', 4000);
  const given = [model, intent, callId].filter((v) => v !== null).length;
  if (given === 0) {
    return refuse('missing_model', 'You must provide a model parameter, for example wss://<host>/v1/realtime?model=gpt-realtime', 4000);
  }
  if (given > 1) return refuse('invalid_request', 'Provide exactly one of the model, intent or call_id query parameters.', 4000);
  if (callId !== null) return refuse('unsupported_call_id', 'Sideband connections to WebRTC/SIP calls (call_id) are not supported by this server.', 4000);
  if (intent !== null) {
    if (intent !== 'transcription') return refuse('invalid_intent', `Invalid intent '${intent.slice(0, 64)}'. Supported values are: 'transcription'.`, 4000, 'transcription');
    return { ...base, kind: 'transcription', model: null, refusal: null };
  }
  if (!model || model.length > 128 || !/^[\w.:/-]+$/.test(model)) {
    return refuse('invalid_model', `Invalid model '${(model ?? '').slice(0, 64)}'.`, 4000);
  }
  return { ...base, kind: 'realtime', model, refusal: null };
}

/** "sk-te****1234", as OpenAI quotes a key it refuses. */
export function maskKey(key: string): string {
  if (key.length <= 8) return '****';
  return `${key.slice(0, 5)}****${key.slice(-4)}`;
}
