// REST endpoints that mint ephemeral client secrets (`ek_…`), for browsers that must not hold a
// real key: GA `POST /v1/realtime/client_secrets`, beta `POST /v1/realtime/sessions` and
// `POST /v1/realtime/transcription_sessions`. The session config in the request is validated as a
// session.update would be, baked into the secret, and applied when a WebSocket opens with it.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { Type } from '@sinclair/typebox';
import { ClientRequestError, errorMessage } from '../lib/errors.ts';
import { newId, randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { compileValidator, SessionUpdateBeta, SessionUpdateGa, TranscriptionSessionUpdateBeta } from '../schemas/index.ts';
import type { Authenticator, EphemeralRecord } from './auth.ts';
import { sendHttpError, sendJson } from './http.ts';
import { applyBetaUpdate, applyGaUpdate, defaultSession, renderBetaSession, renderGaSession } from './session-config.ts';

const MAX_BODY = 256 * 1024;
const ExpiresAfter = Type.Object({ anchor: Type.Optional(Type.Literal('created_at')), seconds: Type.Integer({ minimum: 10, maximum: 7200 }) }, { additionalProperties: false });
const gaBody = compileValidator(Type.Object({ expires_after: Type.Optional(ExpiresAfter), session: Type.Optional(SessionUpdateGa) }, { additionalProperties: false }));
const betaBody = compileValidator(SessionUpdateBeta);
const betaTranscriptionBody = compileValidator(TranscriptionSessionUpdateBeta);
const ClientSecretOpt = Type.Object({ expires_after: Type.Optional(ExpiresAfter) }, { additionalProperties: false });
const clientSecretOpt = compileValidator(ClientSecretOpt);

export interface RestContext {
  readonly auth: Authenticator;
  readonly defaultTtlMs: number;
  readonly defaultModel: string;
  readonly log: Logger;
}

function readBody(res: HttpResponse, onDone: (body: Buffer) => void, onTooBig: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((ab, isLast) => {
    size += ab.byteLength;
    if (size > MAX_BODY) {
      onTooBig();
      return;
    }
    // uWS reuses the buffer after the callback: copy.
    chunks.push(Buffer.from(new Uint8Array(ab).slice()));
    if (isLast) onDone(Buffer.concat(chunks));
  });
}

type Kind = 'ga' | 'beta' | 'beta-transcription';

function mint(kind: Kind, body: Record<string, unknown>, ttlMs: number, model: string): { preset: EphemeralRecord['preset']; expiresAt: number; response: (secret: string) => unknown } {
  const now = Math.floor(Date.now() / 1000);
  const secretOpt = (body['client_secret'] ?? body) as { expires_after?: { seconds: number } };
  const seconds = secretOpt.expires_after?.seconds ?? Math.round(ttlMs / 1000);
  const expiresAt = now + seconds;
  const ctx = { audioProduced: false };
  if (kind === 'ga') {
    const session = (body['session'] ?? { type: 'realtime' }) as { type: 'realtime' | 'transcription'; model?: string };
    const base = defaultSession({ id: newId('sess'), model: session.model ?? model, type: session.type, expiresAt: 0 });
    const effective = applyGaUpdate(base, session as never, ctx);
    return { preset: { iface: 'ga', session }, expiresAt, response: (value) => ({ value, expires_at: expiresAt, session: renderGaSession(effective) }) };
  }
  const { client_secret: _cs, ...session } = body;
  const type = kind === 'beta' ? 'realtime' : 'transcription';
  const base = defaultSession({ id: newId('sess'), model: (session['model'] as string | undefined) ?? model, type, expiresAt: 0 });
  const effective = applyBetaUpdate(base, session as never, ctx);
  return { preset: { iface: 'beta', session }, expiresAt, response: (value) => ({ ...renderBetaSession(effective), client_secret: { value, expires_at: expiresAt } }) };
}

function handler(kind: Kind, ctx: RestContext) {
  return (res: HttpResponse, req: HttpRequest) => {
    const authorization = req.getHeader('authorization');
    let aborted = false;
    res.onAborted(() => (aborted = true));
    readBody(
      res,
      (raw) => {
        void (async () => {
          const key = /^Bearer\s+(.+)$/i.exec(authorization.trim())?.[1]?.trim();
          const principal = key ? ctx.auth.staticKey(key) : null;
          if (!principal) {
            if (!aborted) sendHttpError(res, '401 Unauthorized', 'invalid_api_key', key ? 'Incorrect API key provided.' : 'Missing bearer authentication in header.');
            return;
          }
          let body: Record<string, unknown>;
          try {
            body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
            if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
          } catch {
            if (!aborted) sendHttpError(res, '400 Bad Request', 'invalid_json', 'The body must be a JSON object.');
            return;
          }
          const clientSecret = body['client_secret'];
          const checked = kind === 'ga' ? gaBody.validate(body) : kind === 'beta' ? betaBody.validate(body) : betaTranscriptionBody.validate(body);
          const secretChecked = kind === 'ga' || clientSecret === undefined ? { ok: true as const } : clientSecretOpt.validate(clientSecret);
          const failure = !checked.ok ? checked.error : !secretChecked.ok ? secretChecked.error : null;
          if (failure) {
            if (!aborted) sendJson(res, '400 Bad Request', { error: { message: failure.message, type: 'invalid_request_error', code: failure.code, param: failure.param } });
            return;
          }
          try {
            const minted = mint(kind, body, ctx.defaultTtlMs, ctx.defaultModel);
            const secret = `ek_${randomToken(32)}`;
            await ctx.auth.mint(secret, { tenantId: principal.tenantId, expiresAt: minted.expiresAt, preset: minted.preset });
            if (!aborted) sendJson(res, '200 OK', minted.response(secret));
          } catch (err) {
            if (aborted) return;
            if (err instanceof ClientRequestError) sendJson(res, '400 Bad Request', { error: { message: err.message, type: err.kind, code: err.code, param: err.param } });
            else {
              ctx.log.error({ err: errorMessage(err) }, 'client secret could not be minted');
              sendHttpError(res, '503 Service Unavailable', 'unavailable', 'The client secret could not be stored; retry.', 'server_error');
            }
          }
        })();
      },
      () => {
        if (!aborted) sendHttpError(res, '413 Payload Too Large', 'body_too_large', `The body must be at most ${MAX_BODY} bytes.`);
        aborted = true;
      },
    );
  };
}

export function registerRestRoutes(app: TemplatedApp, ctx: RestContext): void {
  app.post('/v1/realtime/client_secrets', handler('ga', ctx));
  app.post('/v1/realtime/sessions', handler('beta', ctx));
  app.post('/v1/realtime/transcription_sessions', handler('beta-transcription', ctx));
}
