// The /v1/realtime WebSocket route: admission, handshake and authentication in the upgrade, a
// session on open, client events on message, cleanup on close. Refusals follow OpenAI: the upgrade
// completes, then an `error` event and a close with 3000 (auth) or 4000 (request shape).
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { metrics } from '../lib/metrics.ts';
import { eventIdFactory, newId } from '../lib/ids.ts';
import { errorMessage } from '../lib/errors.ts';
import type { SessionConfig, RealtimeSessionUpdateGa, SessionUpdateBeta } from '../schemas/index.ts';
import type { Admission } from './admission.ts';
import type { Authenticator, Principal } from './auth.ts';
import { Connection, type SocketData } from './connection.ts';
import { dialectFor } from './dialect.ts';
import { maskKey, parseHandshake, type Handshake, type HandshakeRefusal } from './handshake.ts';
import { handleClientMessage } from './client-events.ts';
import { sendHttpError } from './http.ts';
import { applyBetaUpdate, applyGaUpdate, defaultSession } from './session-config.ts';
import { RealtimeSession, type SessionDeps } from './session.ts';

interface UpgradeData {
  readonly handshake: Handshake;
  readonly principal: Principal | null;
  readonly refusal: HandshakeRefusal | null;
}

export interface RealtimeRouteContext {
  readonly deps: SessionDeps;
  readonly auth: Authenticator;
  readonly admission: Admission;
  readonly sessions: Map<string, RealtimeSession>;
  openConnections(): number;
}

const refusalEventId = eventIdFactory();
let connectionSeq = 0;

function applyPreset(cfg: SessionConfig, preset: Principal['preset']): SessionConfig {
  if (!preset) return cfg;
  try {
    return preset.iface === 'ga'
      ? applyGaUpdate(cfg, { ...(preset.session as RealtimeSessionUpdateGa), type: cfg.type } as RealtimeSessionUpdateGa, { audioProduced: false })
      : applyBetaUpdate(cfg, preset.session as SessionUpdateBeta, { audioProduced: false });
  } catch {
    return cfg; // validated when minted; a preset that no longer applies is ignored
  }
}

export function registerRealtimeRoute(app: TemplatedApp, ctx: RealtimeRouteContext): void {
  const { config } = ctx.deps;
  app.ws<SocketData>('/v1/realtime', {
    maxPayloadLength: config.gateway.maxMessageBytes,
    maxBackpressure: config.gateway.maxBackpressureBytes + 1024 * 1024,
    idleTimeout: Math.max(8, Math.round(config.gateway.pingIntervalMs / 1000) + 4),
    sendPingsAutomatically: true,
    closeOnBackpressureLimit: 0,

    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const verdict = ctx.admission.check(ctx.openConnections());
      if (verdict !== 'ok') {
        metrics.connections.inc({ outcome: verdict });
        const status = verdict === 'rate_limited' ? '429 Too Many Requests' : '503 Service Unavailable';
        sendHttpError(res, status, verdict, verdict === 'rate_limited' ? 'Too many new connections; retry shortly.' : 'This gateway is not accepting new connections; retry on another instance.', 'server_error');
        return;
      }
      const handshake = parseHandshake({
        query: req.getQuery() ?? '',
        authorization: req.getHeader('authorization'),
        protocols: req.getHeader('sec-websocket-protocol'),
        openaiBeta: req.getHeader('openai-beta'),
      });
      const wsKey = req.getHeader('sec-websocket-key');
      const wsProtocol = handshake.protocol;
      const wsExtensions = req.getHeader('sec-websocket-extensions');
      const upgrade = (data: UpgradeData) =>
        res.cork(() => res.upgrade<SocketData>({ connectionId: ++connectionSeq, handshake: data }, wsKey, wsProtocol, wsExtensions, context));
      if (handshake.refusal || !handshake.apiKey) {
        upgrade({ handshake, principal: null, refusal: handshake.refusal });
        return;
      }
      const fixed = ctx.auth.staticKey(handshake.apiKey);
      if (fixed) {
        upgrade({ handshake, principal: fixed, refusal: null });
        return;
      }
      // Ephemeral keys live in KV: finish the upgrade asynchronously, unless the client left.
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const key = handshake.apiKey;
      ctx.auth
        .authenticate(key)
        .catch(() => null)
        .then((principal) => {
          if (aborted) return;
          const refusal: HandshakeRefusal | null = principal
            ? null
            : {
                code: 'invalid_api_key',
                message: `Incorrect API key provided: ${maskKey(key)}. You can find your API key in your Parley deployment's PARLEY_API_KEYS.`,
                type: 'invalid_request_error',
                closeCode: 3000,
              };
          upgrade({ handshake, principal, refusal });
        })
        .catch(() => undefined);
    },

    open: (ws: WebSocket<SocketData>) => {
      const data = ws.getUserData();
      const up = data.handshake as UpgradeData;
      let session: RealtimeSession | undefined;
      const conn = new Connection(ws, config.gateway.maxBackpressureBytes, () => tooSlow());
      data.conn = conn;
      const tooSlow = () => {
        session?.log.warn({ buffered: conn.bufferedAmount() }, 'client too slow, closing');
        conn.close(1008, 'client_too_slow: outbound buffer limit exceeded');
      };
      const refusal = up.refusal ?? (up.principal ? null : { code: 'invalid_api_key', message: `Incorrect API key provided: ${maskKey(up.handshake.apiKey ?? '')}.`, type: 'invalid_request_error' as const, closeCode: 3000 as const });
      if (refusal) {
        metrics.connections.inc({ outcome: refusal.closeCode === 3000 ? 'refused_auth' : 'refused_request' });
        conn.sendText(JSON.stringify({ type: 'error', event_id: refusalEventId(), error: { type: refusal.type, code: refusal.code, message: refusal.message, param: null, event_id: null } }));
        conn.close(refusal.closeCode, `${refusal.type}.${refusal.code ?? 'missing_credentials'}`);
        return;
      }
      const principal = up.principal!;
      const hs = up.handshake;
      const id = newId('sess');
      const expiresAt = Math.floor((Date.now() + config.gateway.sessionMaxMs) / 1000);
      const base = defaultSession({ id, model: hs.model ?? config.gateway.defaultModel, type: hs.kind, expiresAt });
      session = new RealtimeSession(ctx.deps, conn, dialectFor(hs.iface), applyPreset(base, principal.preset), principal.tenantId);
      ctx.sessions.set(id, session);
      data.session = session;
      metrics.connections.inc({ outcome: 'accepted' });
      metrics.connectionsActive.inc();
      session.sendSession('session.created');
      session.record({ kind: 'session.opened', sessionId: id, tenantId: principal.tenantId, model: session.config.model, at: Date.now() }, `${id}:opened`);
      const s = session;
      s.pushInputConfig().catch((err: unknown) => s.log.error({ err: errorMessage(err) }, 'could not configure input audio'));
      s.log.info({ iface: hs.iface, kind: hs.kind }, 'session opened');
    },

    message: (ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean) => {
      const session = ws.getUserData().session as RealtimeSession | undefined;
      if (!session) return;
      const started = performance.now();
      // Synchronous until the event is parsed: uWS reuses `message` once this callback returns.
      handleClientMessage(session, message, isBinary);
      metrics.wsMessageSeconds.observe((performance.now() - started) / 1000);
    },

    close: (ws: WebSocket<SocketData>, code: number) => {
      const data = ws.getUserData();
      data.conn?.markClosed();
      const session = data.session as RealtimeSession | undefined;
      if (!session) return;
      ctx.sessions.delete(session.id);
      metrics.connectionsActive.dec();
      session.log.info({ code }, 'session closed');
      session.close(code === 1000 || code === 1005 ? 'client_closed' : `closed_${code}`).catch((err: unknown) => session.log.warn({ err: errorMessage(err) }, 'session close failed'));
    },
  });
}
