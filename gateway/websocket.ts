// The /v1/realtime WebSocket route: admission, handshake and authentication in the upgrade, a
// session on open, client events on message, cleanup on close. Refusals follow OpenAI: the upgrade
// completes, then an `error` event and a close with 3000 (auth) or 4000 (request shape).
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { metrics } from '../lib/metrics.ts';
import { eventIdFactory, newId } from '../lib/ids.ts';
import { errorMessage } from '../lib/errors.ts';
import type { SessionConfig, RealtimeSessionUpdateGa, SessionUpdateBeta } from '../schemas/index.ts';
import { RETRY_AFTER, refusalMessage, type Admission } from './admission.ts';
import type { Authenticator, Principal } from './auth.ts';
import { Connection, type SocketData } from './connection.ts';
import { dialectFor } from './dialect.ts';
import { maskKey, parseHandshake, type Handshake, type HandshakeRefusal } from './handshake.ts';
import { handleClientMessage } from './client-events.ts';
import { sendHttpError } from './http.ts';
import { applyBetaUpdate, applyGaUpdate, defaultSession } from './session-config.ts';
import { RealtimeSession, type SessionDeps } from './session.ts';
import { restoreSession, type RestoredSession } from './session-restore.ts';

interface UpgradeData {
  readonly handshake: Handshake;
  readonly startedAt: number;
}

/** What the asynchronous half of the handshake decides: who the client is, or why not. */
interface Resolved {
  readonly principal: Principal | null;
  readonly refusal: HandshakeRefusal | null;
  readonly resume: RestoredSession | null;
}

/**
 * Client events held while a session is resolved (clients may send before session.created): at
 * most this many, and at most PARLEY_MAX_MESSAGE_BYTES in all, so a client cannot park gigabytes.
 */
const EARLY_EVENTS_MAX = 256;

export interface RealtimeRouteContext {
  readonly deps: SessionDeps;
  readonly auth: Authenticator;
  readonly admission: Admission;
  readonly sessions: Map<string, RealtimeSession>;
  /** True while the gateway shuts down: closes it causes are not the client's goodbye. */
  draining(): boolean;
  /** Session closes in progress (the gateway waits for them before it lets go of NATS). */
  readonly closing: Set<Promise<void>>;
}

async function resolveAsync(ctx: RealtimeRouteContext, handshake: Handshake, key: string, fixed: Principal | null): Promise<Resolved> {
  const principal = fixed ?? (await ctx.auth.authenticate(key).catch(() => null));
  if (!principal) {
    return {
      principal: null,
      resume: null,
      refusal: {
        code: 'invalid_api_key',
        message: `Incorrect API key provided: ${maskKey(key)}. You can find your API key in your Parley deployment's PARLEY_API_KEYS.`,
        type: 'invalid_request_error',
        closeCode: 3000,
      },
    };
  }
  if (!handshake.resumeSessionId) {
    const g = ctx.deps.config.gateway;
    const limit = g.tenantRateLimits[principal.tenantId]?.sessionsPerMinute ?? g.rateLimits.sessionsPerMinute;
    const decision = await ctx.deps.limiter.check('sessions', principal.tenantId, limit);
    if (!decision.allowed) {
      return {
        principal: null,
        resume: null,
        refusal: { code: 'rate_limit_exceeded', message: `Rate limit reached: at most ${limit} new sessions per minute for this account. Retry shortly.`, type: 'invalid_request_error', closeCode: 4000 },
      };
    }
    return { principal, refusal: null, resume: null };
  }
  const restored = await restoreSession(ctx.deps.bus, ctx.deps.store, handshake.resumeSessionId, principal.tenantId);
  if (!restored.ok) return { principal, resume: null, refusal: { code: restored.code, message: restored.message, type: 'invalid_request_error', closeCode: 4000 } };
  return { principal, refusal: null, resume: restored.session };
}

const refusalEventId = eventIdFactory();
let connectionSeq = 0;

function applyPreset(cfg: SessionConfig, preset: Principal['preset']): SessionConfig {
  if (!preset) return cfg;
  // The connection's ?model= names the model; the rest of the minted config applies.
  const { model: _model, client_secret: _secret, ...session } = preset.session;
  try {
    return preset.iface === 'ga'
      ? applyGaUpdate(cfg, { ...(session as RealtimeSessionUpdateGa), type: cfg.type } as RealtimeSessionUpdateGa, { audioProduced: false })
      : applyBetaUpdate(cfg, session as SessionUpdateBeta, { audioProduced: false });
  } catch {
    return cfg; // validated when minted; a preset that no longer applies is ignored
  }
}

/** The pong window uWS leaves after its automatic ping: 4, 8 or 16 s, from its idleTimeout. */
function uwsPongWindow(idleTimeoutS: number): number {
  let margin = 4;
  while (idleTimeoutS - margin * 2 >= margin * 2 && margin < 16) margin <<= 1;
  return margin;
}

/**
 * uWS pings a socket idle for (idleTimeout - window) and closes it if nothing arrives within the
 * window. Pick the idleTimeout that pings after `pingIntervalMs` with the widest window (16 s):
 * a client, or this machine, briefly stalled must not lose a healthy session over one late pong.
 */
export function keepaliveIdleTimeout(pingIntervalMs: number): number {
  const pingS = Math.max(1, Math.round(pingIntervalMs / 1000));
  for (const window of [16, 8, 4]) {
    const idle = pingS + window;
    if (idle >= 8 && uwsPongWindow(idle) === window) return idle;
  }
  return 8; // uWS's smallest: a ping after 4 s idle, 4 s to answer
}

function missingKeyRefusal(): HandshakeRefusal {
  return { code: 'invalid_api_key', message: 'Incorrect API key provided.', type: 'invalid_request_error', closeCode: 3000 };
}

function shuttingDownRefusal(): HandshakeRefusal {
  return { code: 'server_shutting_down', message: 'This gateway is shutting down; connect again to reach another instance.', type: 'invalid_request_error', closeCode: 4000 };
}

/** OpenAI's refusal: the socket is open, an `error` event says why, then a close. */
function refuse(conn: Connection, refusal: HandshakeRefusal): void {
  metrics.connections.inc({ outcome: refusal.closeCode === 3000 ? 'refused_auth' : 'refused_request' });
  conn.sendText(JSON.stringify({ type: 'error', event_id: refusalEventId(), error: { type: refusal.type, code: refusal.code, message: refusal.message, param: null, event_id: null } }));
  conn.close(refusal.closeCode, `${refusal.type}.${refusal.code ?? 'missing_credentials'}`);
}

/** A new or resumed session on an open, authenticated socket: session.created, then its bus wiring. */
function openSession(ctx: RealtimeRouteContext, conn: Connection, up: UpgradeData, principal: Principal, resumed: RestoredSession | null): RealtimeSession {
  const { config } = ctx.deps;
  const hs = up.handshake;
  let cfg: SessionConfig;
  if (resumed) {
    cfg = resumed.record.config as unknown as SessionConfig;
  } else {
    const expiresAt = Math.floor((Date.now() + config.gateway.sessionMaxMs) / 1000);
    cfg = applyPreset(defaultSession({ id: newId('sess'), model: hs.model ?? config.gateway.defaultModel, type: hs.kind, expiresAt }), principal.preset);
  }
  const resume = resumed ? { revision: resumed.revision, createdAt: resumed.record.createdAt, items: resumed.items, ingest: resumed.ingest } : undefined;
  const s = new RealtimeSession(ctx.deps, conn, dialectFor(hs.iface), cfg, principal.tenantId, resume);
  const displaced = ctx.sessions.get(s.id);
  if (displaced) displaced.conn.close(4000, 'session_resumed_elsewhere');
  ctx.sessions.set(s.id, s);
  metrics.connections.inc({ outcome: resumed ? 'resumed' : 'accepted' });
  metrics.connectionsActive.inc();
  s.sendSession('session.created');
  if (!resumed) s.record({ kind: 'session.opened', sessionId: s.id, tenantId: principal.tenantId, model: s.config.model, at: Date.now() }, `${s.id}:opened`);
  void s.saveState();
  s.pushInputConfig().catch((err: unknown) => s.log.error({ err: errorMessage(err) }, 'could not configure input audio'));
  const ms = Math.round(performance.now() - up.startedAt);
  if (resumed) metrics.sessionRestoreSeconds.observe(ms / 1000);
  s.log.info({ iface: hs.iface, kind: hs.kind, resumed: Boolean(resumed), items: resumed?.items.length ?? 0, ms }, resumed ? 'session resumed' : 'session opened');
  return s;
}

export function registerRealtimeRoute(app: TemplatedApp, ctx: RealtimeRouteContext): void {
  const { config } = ctx.deps;
  /** WebSockets admitted and not yet closed on this gateway: what PARLEY_MAX_CONNECTIONS caps. */
  let sockets = 0;
  app.ws<SocketData>('/v1/realtime', {
    maxPayloadLength: config.gateway.maxMessageBytes,
    maxBackpressure: config.gateway.maxBackpressureBytes + 1024 * 1024,
    idleTimeout: keepaliveIdleTimeout(config.gateway.pingIntervalMs),
    sendPingsAutomatically: true,
    closeOnBackpressureLimit: 0,

    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const verdict = ctx.admission.check(sockets);
      if (verdict !== 'ok') {
        metrics.connections.inc({ outcome: verdict });
        // The connection is closed with the answer: a refused client must not keep holding a
        // descriptor on a keep-alive socket (at capacity, that is exactly what runs out).
        sendHttpError(res, verdict === 'rate_limited' ? '429 Too Many Requests' : '503 Service Unavailable', verdict, refusalMessage(verdict, ctx.admission), 'server_error', true, RETRY_AFTER[verdict]);
        return;
      }
      // Counted from admission until the close handler: what the cap protects is descriptors.
      sockets++;
      const handshake = parseHandshake({
        query: req.getQuery() ?? '',
        authorization: req.getHeader('authorization'),
        protocols: req.getHeader('sec-websocket-protocol'),
        openaiBeta: req.getHeader('openai-beta'),
        sessionHeader: req.getHeader('parley-session-id'),
      });
      // Always upgraded here, synchronously: finishing an upgrade later from async code
      // (res.cork(() => res.upgrade())) makes this uWS build close some fresh sockets right after
      // open (uNetworking/uWebSockets#1928, fixed upstream by #1929), and an uncorked async upgrade
      // prints a warning per connection. The async part (keys in KV, rate limits, resume) runs
      // after open, before session.created; refusals are error events either way.
      const upgradeData: UpgradeData = { handshake, startedAt: performance.now() };
      res.upgrade<SocketData>({ connectionId: ++connectionSeq, handshake: upgradeData }, req.getHeader('sec-websocket-key'), handshake.protocol, req.getHeader('sec-websocket-extensions'), context);
    },

    open: (ws: WebSocket<SocketData>) => {
      const data = ws.getUserData();
      const up = data.handshake as UpgradeData;
      // Needed only until the session exists: not kept for the life of an idle connection.
      data.handshake = null;
      let session: RealtimeSession | undefined;
      const conn = new Connection(ws, config.gateway.maxBackpressureBytes, () => {
        session?.log.warn({ buffered: conn.bufferedAmount() }, 'client too slow, closing');
        conn.close(1008, 'client_too_slow: outbound buffer limit exceeded');
      });
      data.conn = conn;
      const key = up.handshake.apiKey;
      if (up.handshake.refusal || !key) {
        refuse(conn, up.handshake.refusal ?? missingKeyRefusal());
        return;
      }
      // Client events that arrive while the session is being resolved wait, in order, bounded.
      data.early = [];
      resolveAsync(ctx, up.handshake, key, ctx.auth.staticKey(key))
        .catch((err: unknown): Resolved => {
          ctx.deps.log.error({ err: errorMessage(err) }, 'session could not be resolved');
          return { principal: null, resume: null, refusal: { code: 'server_error', message: 'The session could not be opened; please retry.', type: 'invalid_request_error', closeCode: 4000 } };
        })
        .then((resolved) => {
          const early = data.early ?? [];
          data.early = undefined;
          if (!conn.isOpen) return;
          const refusal = ctx.draining() ? shuttingDownRefusal() : (resolved.refusal ?? (resolved.principal ? null : missingKeyRefusal()));
          if (refusal) {
            refuse(conn, refusal);
            return;
          }
          session = openSession(ctx, conn, up, resolved.principal!, resolved.resume);
          data.session = session;
          for (const event of early) {
            if (session.closed) break;
            handleClientMessage(session, event.message, event.isBinary);
          }
        })
        .catch((err: unknown) => {
          ctx.deps.log.error({ err: errorMessage(err) }, 'session could not be opened');
          conn.close(1011, 'server_error');
        });
    },

    message: (ws: WebSocket<SocketData>, message: ArrayBuffer, isBinary: boolean) => {
      const data = ws.getUserData();
      const session = data.session as RealtimeSession | undefined;
      if (!session) {
        const early = data.early;
        if (!early) return;
        const held = early.reduce((bytes, e) => bytes + e.message.byteLength, message.byteLength);
        if (early.length >= EARLY_EVENTS_MAX || held > config.gateway.maxMessageBytes) {
          data.conn?.close(1008, 'too many events before session.created');
          return;
        }
        // uWS reuses `message` once this callback returns: keep a copy.
        early.push({ message: message.slice(0), isBinary });
        return;
      }
      const started = performance.now();
      // Synchronous until the event is parsed: uWS reuses `message` once this callback returns.
      handleClientMessage(session, message, isBinary);
      metrics.wsMessageSeconds.observe((performance.now() - started) / 1000);
    },

    close: (ws: WebSocket<SocketData>, code: number) => {
      sockets--;
      const data = ws.getUserData();
      data.conn?.markClosed();
      const session = data.session as RealtimeSession | undefined;
      if (!session) return;
      ctx.sessions.delete(session.id);
      metrics.connectionsActive.dec();
      session.log.info({ code }, 'session closed');
      // 1000/1005 from the client: it is done. Anything else (network drop, our shutdown, a
      // takeover) leaves the session resumable until its heartbeat lapses.
      const final = (code === 1000 || code === 1005) && !ctx.draining();
      const closing = session.close(final ? 'client_closed' : `closed_${code}`, final).catch((err: unknown) => session.log.warn({ err: errorMessage(err) }, 'session close failed'));
      ctx.closing.add(closing);
      void closing.finally(() => ctx.closing.delete(closing));
    },
  });
}
