// /health, /ready and /metrics for a process that runs stages but no gateway (`parley stage vad`),
// so every role can be probed and scraped the same way.
import uWS from 'uWebSockets.js';
import { registerHealthRoutes, sendHttpError } from '../gateway/http.ts';
import { ConfigError } from '../lib/errors.ts';

export interface HealthServer {
  readonly port: number;
  stop(): void;
}

export function startHealthServer(o: { host: string; port: number; readiness: () => Record<string, boolean> }): Promise<HealthServer> {
  const app = uWS.App();
  registerHealthRoutes(app, { readiness: o.readiness });
  app.any('/*', (res) => sendHttpError(res, '404 Not Found', 'not_found', 'Unknown path.'));
  return new Promise((resolve, reject) => {
    app.listen(o.host, o.port, (socket) => {
      if (!socket) {
        reject(new ConfigError(`cannot listen on ${o.host}:${o.port}`));
        return;
      }
      resolve({ port: uWS.us_socket_local_port(socket), stop: () => uWS.us_listen_socket_close(socket) });
    });
  });
}
