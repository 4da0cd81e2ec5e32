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
  /** Source address: one connection per local port, so one address holds at most ~28k (Linux's
   * default ephemeral range) connections to one server port; each client process uses its own. */
  localAddress: string;
}

const sockets: WebSocket[] = [];
let opened = 0;
let created = 0;
let failed = 0;
/** Sessions that closed after session.created: an idle session must stay open. */
let closed = 0;
/** Why sockets failed or closed, by kind (a few kinds, bounded). */
const reasons: Record<string, number> = {};
function tally(kind: string): void {
  if (kind in reasons || Object.keys(reasons).length < 20) reasons[kind] = (reasons[kind] ?? 0) + 1;
}

process.on('message', (m: { type: string } & Partial<Start>) => {
  if (m.type === 'start') void start(m as Start);
  if (m.type === 'count') process.send?.({ type: 'count', opened, created, failed, closed, reasons });
  if (m.type === 'close') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});

async function start(o: Start): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < o.count; i++) {
    const dialed = performance.now();
    const ws = new WebSocket(o.url, { headers: { Authorization: `Bearer ${o.key}` }, perMessageDeflate: false, localAddress: o.localAddress });
    let hadSession = false;
    sockets.push(ws);
    ws.once('open', () => {
      opened++;
      if (!o.expectSession) created++;
    });
    ws.once('message', (data) => {
      if (!o.expectSession) return;
      // Only a session counts: a refusal (an `error` event, then a close) is a failure.
      if ((JSON.parse(data.toString()) as { type?: string }).type === 'session.created') {
        created++;
        hadSession = true;
      } else failed++;
    });
    ws.on('error', (err) => {
      failed++;
      // How long it took to fail tells a refusal or reset (at once) from a handshake timed out.
      const s = (performance.now() - dialed) / 1000;
      tally(`error ${err.message.replace(/\d+/g, 'N').slice(0, 60)} (${s < 1 ? '<1' : s < 5 ? '1-5' : s < 15 ? '5-15' : '>15'} s)`);
    });
    ws.once('close', (code) => {
      // A session that was created and then closed is lost; a failed connect closes too.
      if (hadSession || !o.expectSession) closed++;
      tally(`close ${code}`);
    });
    // Pace the handshakes (the gateway admits 100/s per instance by default).
    const due = started + ((i + 1) * 1000) / o.perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (i % 500 === 0) process.send?.({ type: 'progress', opened, created, failed, closed });
  }
  const deadline = Date.now() + 60_000;
  while (created + failed < o.count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  process.send?.({ type: 'ready', opened, created, failed, closed });
}
