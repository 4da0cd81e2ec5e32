// Baseline WebSocket servers for bench-idle, run as child processes: a bare uWebSockets.js server
// and a plain `ws` server, each accepting upgrades on /v1/realtime and sending one small message
// per connection — the floor Parley's per-session memory is compared against.
import uWS from 'uWebSockets.js';
import { WebSocketServer } from 'ws';

const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg);
// The bench collects garbage before each reading, so start-up garbage freed in between is not
// counted against (or for) the connections, and reads the footprint the connections can move:
// RSS less the V8 heap pages that hold no live object (V8 returns those to the OS on its own
// schedule, so plain RSS can even shrink while 15,000 connections are added).
process.on('message', (m: { type?: string }) => {
  if (m.type !== 'gc') return;
  (globalThis as { gc?: () => void }).gc?.();
  const u = process.memoryUsage();
  process.send?.({ type: 'gc-done', footprint: u.rss - u.heapTotal + u.heapUsed });
});

const hello = JSON.stringify({ type: 'session.created', event_id: 'event_0', session: { id: 'sess_baseline' } });

if (kind === 'uws') {
  uWS
    .App()
    .ws('/v1/realtime', { idleTimeout: 120, open: (ws) => void ws.send(hello) })
    .listen('127.0.0.1', port, (s) => {
      process.send?.({ type: s ? 'listening' : 'failed' });
    });
} else if (kind === 'ws') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/v1/realtime', perMessageDeflate: false });
  wss.on('connection', (ws) => ws.send(hello));
  wss.on('listening', () => process.send?.({ type: 'listening' }));
} else {
  process.stderr.write('usage: baseline-servers.ts uws|ws <port>\n');
  process.exit(2);
}
