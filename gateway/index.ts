// gatewayStage: the uWebSockets.js server speaking the OpenAI Realtime protocol (wss:// with the
// configured or a self-signed certificate, plus plain ws:// for deployments behind a TLS-terminating
// load balancer), the session registry, and this gateway's outbox consumer. Public door of gateway/.
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { ParleyConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Bus } from '../lib/nats/bus.ts';
import type { Buckets } from '../lib/nats/topology.ts';
import { CancelRegistry } from '../lib/nats/cancellations.ts';
import { ClientRequestError, ConfigError } from '../lib/errors.ts';
import { SessionStore } from '../lib/session-store.ts';
import { SessionLiveness } from './session-liveness.ts';
import { RateLimiter } from '../lib/rate-limit.ts';
import { Admission, LoadMonitor } from './admission.ts';
import { Authenticator } from './auth.ts';
import { registerHealthRoutes, sendHttpError } from './http.ts';
import { OutboxConsumer } from './outbox-consumer.ts';
import type { RealtimeSession } from './session.ts';
import { ensureTls } from './tls.ts';
import { registerRealtimeRoute } from './websocket.ts';
import { registerRestRoutes } from './rest.ts';

export interface GatewayDeps {
  readonly config: ParleyConfig;
  readonly bus: Bus;
  readonly buckets: Buckets;
  readonly log: Logger;
  /** Readiness of everything else in this process (stages), shown on /ready. */
  readonly readiness: () => Record<string, boolean>;
}

export interface Gateway {
  readonly id: string;
  readonly port: number;
  readonly tlsPort: number;
  readonly certFile: string;
  readonly selfSignedCert: boolean;
  readonly sessionCount: () => number;
  ready(): boolean;
  stop(): Promise<void>;
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => (socket ? resolve(socket) : reject(new ConfigError(`cannot listen on ${host}:${port} (port in use?)`))));
  });
}

export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, bus, log } = deps;
  const gatewayId = config.instanceId;
  const sessions = new Map<string, RealtimeSession>();
  const cancels = new CancelRegistry(bus);
  const auth = new Authenticator(config.gateway.apiKeys, deps.buckets.ephemeralKeys);
  const loadMonitor = new LoadMonitor();
  const admission = new Admission({
    perSecond: config.gateway.admissionPerSecond,
    maxConnections: config.gateway.maxConnections,
    maxLagMs: config.gateway.admissionMaxLagMs,
    lagMs: () => loadMonitor.delayMs(),
    onGate: ({ closed, lagMs, refused }) =>
      closed
        ? log.warn({ lagMs: Math.round(lagMs), maxLagMs: config.gateway.admissionMaxLagMs }, 'gateway overloaded: refusing new sessions')
        : log.info({ lagMs: Math.round(lagMs), refused }, 'gateway load back under the limit: admitting new sessions again'),
  });
  const store = new SessionStore(deps.buckets.sessions);
  const liveness = new SessionLiveness({
    bus,
    heartbeats: deps.buckets.heartbeats,
    leases: deps.buckets.leases,
    store,
    gatewayId,
    log,
    everyMs: 10_000,
    ttlMs: 30_000,
  });
  liveness.start();
  const limiter = new RateLimiter(bus, config.nats.replicas, log);
  const outbox = new OutboxConsumer(bus, gatewayId, sessions, log);
  await outbox.start();
  const tls = await ensureTls({ certFile: config.gateway.tlsCertFile, keyFile: config.gateway.tlsKeyFile, dataDir: config.dataDir });

  let accepting = true;
  let draining = false;
  const closing = new Set<Promise<void>>();
  const readiness = () => ({ nats: !bus.nc.isClosed(), outbox: outbox.ready, accepting, ...deps.readiness() });
  const apps = [uWS.App(), uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile })];
  for (const app of apps) {
    registerHealthRoutes(app, { readiness });
    registerRealtimeRoute(app, {
      deps: { bus, config, cancels, gatewayId, log, store, liveness, limiter },
      auth,
      admission,
      sessions,
      draining: () => draining,
      closing,
    });
    registerRestRoutes(app, { auth, defaultTtlMs: config.gateway.ephemeralKeyTtlMs, defaultModel: config.gateway.defaultModel, log });
    app.any('/*', (res) => sendHttpError(res, '404 Not Found', 'not_found', 'Unknown path. Realtime sessions connect to /v1/realtime.'));
  }
  const [plain, secure] = await Promise.all([listen(apps[0]!, config.gateway.host, config.gateway.port), listen(apps[1]!, config.gateway.host, config.gateway.tlsPort)]);
  const port = uWS.us_socket_local_port(plain);
  const tlsPort = uWS.us_socket_local_port(secure);
  log.info({ gateway: gatewayId, port, tlsPort, selfSigned: tls.selfSigned, maxConnections: config.gateway.maxConnections }, 'gateway listening');

  return {
    id: gatewayId,
    port,
    tlsPort,
    certFile: tls.certFile,
    selfSignedCert: tls.selfSigned,
    sessionCount: () => sessions.size,
    ready: () => Object.values(readiness()).every(Boolean),
    /**
     * Drain: stop accepting, tell every client (with the session id to resume elsewhere), let
     * running responses and queued input finish for up to PARLEY_DRAIN_MS, then close with 1012.
     * Sessions stay resumable: their state is in KV and the conversation in JetStream.
     */
    async stop() {
      accepting = false;
      draining = true;
      admission.drain();
      loadMonitor.stop();
      uWS.us_listen_socket_close(plain);
      uWS.us_listen_socket_close(secure);
      for (const s of sessions.values()) {
        s.sendError(
          new ClientRequestError('server_shutting_down', `This gateway is shutting down. Reconnect with ?session_id=${s.id} (or the Parley-Session-Id header) to continue this session.`),
          null,
          'server_error',
        );
      }
      const deadline = Date.now() + config.gateway.drainMs;
      while (Date.now() < deadline && [...sessions.values()].some((s) => s.busy)) await new Promise((r) => setTimeout(r, 50));
      log.info({ sessions: sessions.size, busy: [...sessions.values()].filter((s) => s.busy).length }, 'gateway drained');
      for (const s of sessions.values()) s.conn.close(1012, 'server_restart');
      await Promise.allSettled([...sessions.values()].map((s) => s.close('server_shutdown', false)));
      await Promise.allSettled([...closing]);
      await liveness.stop();
      await outbox.stop();
    },
  };
}
