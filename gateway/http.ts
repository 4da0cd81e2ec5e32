// Plain HTTP endpoints of the gateway: /health (the process is alive), /ready (NATS, streams and
// every local stage are up), /metrics (Prometheus text). Every response is written in one cork,
// and never after the client went away.
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { exposition, registry } from '../lib/metrics.ts';

/** `closeConnection`: end the TCP connection after the response (no keep-alive). */
export function sendJson(res: HttpResponse, status: string, body: unknown, headers: Record<string, string> = {}, closeConnection = false): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(JSON.stringify(body), closeConnection);
  });
}

/** OpenAI-shaped HTTP error body. */
export function sendHttpError(res: HttpResponse, status: string, code: string, message: string, type = 'invalid_request_error', closeConnection = false, retryAfterSeconds?: number): void {
  sendJson(res, status, { error: { message, type, code, param: null } }, retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }, closeConnection);
}

export interface HealthSource {
  /** name -> up */
  readiness(): Record<string, boolean>;
}

export function registerHealthRoutes(app: TemplatedApp, source: HealthSource): void {
  app.get('/health', (res) => sendJson(res, '200 OK', { status: 'ok' }));
  app.get('/ready', (res) => {
    const parts = source.readiness();
    const ok = Object.values(parts).every(Boolean);
    sendJson(res, ok ? '200 OK' : '503 Service Unavailable', { status: ok ? 'ready' : 'not_ready', components: parts });
  });
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    exposition()
      .then((text) => {
        if (aborted) return;
        res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', registry.contentType).end(text));
      })
      .catch(() => {
        if (!aborted) sendHttpError(res, '500 Internal Server Error', 'metrics_failed', 'metrics could not be collected', 'server_error');
      });
  });
}
