// gatewayStage: the uWebSockets.js server speaking the OpenAI Realtime protocol (wss:// with the
// configured or a self-signed certificate, plus plain ws:// for deployments behind a TLS-terminating
// load balancer), the session registry, and this gateway's outbox consumer. Public door of gateway/.
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { ParleyConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Bus } from '../lib/nats/bus.ts';
import type { Buckets } from '../lib/nats/topology.ts';
import { CancelRegistry } from '../lib/nats/cancellations.ts';
import { ConfigError } from '../lib/errors.ts';
import { Admission } from './admission.ts';
import { Authenticator } from './auth.ts';
import { registerHealthRoutes, sendHttpError } from './http.ts';
import { OutboxConsumer } from './outbox-consumer.ts';
import type { RealtimeSession } from './session.ts';
import { ensureTls } from './tls.ts';
import { registerRealtimeRoute } from './websocket.ts';

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
  const admission = new Admission(config.gateway.admissionPerSecond, config.gateway.maxConnections);
  const outbox = new OutboxConsumer(bus, gatewayId, sessions, log);
  await outbox.start();
  const tls = await ensureTls({ certFile: config.gateway.tlsCertFile, keyFile: config.gateway.tlsKeyFile, dataDir: config.dataDir });

  let accepting = true;
  const readiness = () => ({ nats: !bus.nc.isClosed(), outbox: outbox.ready, accepting, ...deps.readiness() });
  const apps = [uWS.App(), uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile })];
  for (const app of apps) {
    registerHealthRoutes(app, { readiness });
    registerRealtimeRoute(app, {
      deps: { bus, config, cancels, gatewayId, log },
      auth,
      admission,
      sessions,
      openConnections: () => sessions.size,
    });
    app.any('/*', (res) => sendHttpError(res, '404 Not Found', 'not_found', 'Unknown path. Realtime sessions connect to /v1/realtime.'));
  }
  const [plain, secure] = await Promise.all([listen(apps[0]!, config.gateway.host, config.gateway.port), listen(apps[1]!, config.gateway.host, config.gateway.tlsPort)]);
  const port = uWS.us_socket_local_port(plain);
  const tlsPort = uWS.us_socket_local_port(secure);
  log.info({ gateway: gatewayId, port, tlsPort, selfSigned: tls.selfSigned }, 'gateway listening');

  return {
    id: gatewayId,
    port,
    tlsPort,
    certFile: tls.certFile,
    selfSignedCert: tls.selfSigned,
    sessionCount: () => sessions.size,
    ready: () => Object.values(readiness()).every(Boolean),
    async stop() {
      accepting = false;
      admission.drain();
      uWS.us_listen_socket_close(plain);
      uWS.us_listen_socket_close(secure);
      for (const s of sessions.values()) s.conn.close(1001, 'server_shutting_down');
      await Promise.allSettled([...sessions.values()].map((s) => s.close('server_shutdown')));
      await outbox.stop();
    },
  };
}
