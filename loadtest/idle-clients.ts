// Child process for bench-idle: opens `count` Realtime WebSockets to `url` (GA, bearer key),
// paced at `perSecond`, waits for session.created on each, and reports to the parent over IPC.
// Keeps them open (idle; pongs are automatic) until told to close.
import WebSocket from 'ws';

interface Start {
  url: string;
  key: string;
  count: number;
  perSecond: number;
  expectSession: boolean;
}

const sockets: WebSocket[] = [];
let opened = 0;
let created = 0;
let failed = 0;

process.on('message', (m: { type: string } & Partial<Start>) => {
  if (m.type === 'start') void start(m as Start);
  if (m.type === 'close') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});

async function start(o: Start): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < o.count; i++) {
    const ws = new WebSocket(o.url, { headers: { Authorization: `Bearer ${o.key}` }, perMessageDeflate: false });
    sockets.push(ws);
    ws.once('open', () => {
      opened++;
      if (!o.expectSession) created++;
    });
    ws.once('message', () => {
      if (o.expectSession) created++;
    });
    ws.on('error', () => {
      failed++;
    });
    // Pace the handshakes (the gateway admits 100/s per instance by default).
    const due = started + ((i + 1) * 1000) / o.perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (i % 500 === 0) process.send?.({ type: 'progress', opened, created, failed });
  }
  const deadline = Date.now() + 60_000;
  while (created + failed < o.count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  process.send?.({ type: 'ready', opened, created, failed });
}
