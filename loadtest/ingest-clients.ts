// Child process for bench-ingest: `count` Realtime sessions, each appending 20 ms of audio every
// 20 ms (real-time pace, one timer for all of them), for `seconds`. Reports how many appends it
// sent and how late its own timer ran, so a slow client is not mistaken for a slow gateway.
// With `arrivalPerSecond`, sessions arrive at that rate while the others stream (each starts
// streaming once its session exists) and streaming goes on for `seconds` after the last arrival;
// refused connections are counted by HTTP status.
import WebSocket from 'ws';

interface Start {
  url: string;
  key: string;
  count: number;
  seconds: number;
  chunkMs: number;
  arrivalPerSecond?: number;
}

export interface IngestClientReport {
  readonly type: 'done';
  readonly sent: number;
  readonly lateMax: number;
  readonly admitted: number;
  /** HTTP status of each refused upgrade -> how many. */
  readonly refused: Record<string, number>;
}

process.on('message', (m: { type: string } & Partial<Start>) => {
  if (m.type === 'start') void run(m as Start);
});

function open(o: Start, onSession: (ws: WebSocket) => void, onRefused: (status: number) => void): WebSocket {
  const ws = new WebSocket(o.url, { headers: { Authorization: `Bearer ${o.key}` }, perMessageDeflate: false });
  ws.on('error', () => undefined);
  ws.once('unexpected-response', (_req, res) => {
    onRefused(res.statusCode ?? 0);
    res.resume();
  });
  ws.once('message', () => {
    // Manual commits only: the bench measures ingest, not turns.
    ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } }));
    onSession(ws);
  });
  return ws;
}

async function run(o: Start): Promise<void> {
  const streaming: WebSocket[] = [];
  const refused: Record<string, number> = {};
  const onRefused = (status: number) => (refused[status] = (refused[status] ?? 0) + 1);
  const arrival = o.arrivalPerSecond ?? 0;
  if (arrival <= 0) {
    await Promise.all(
      Array.from(
        { length: o.count },
        (_, i) =>
          new Promise<void>((resolve) => {
            open(o, (ws) => (streaming.push(ws), resolve()), (status) => (onRefused(status), resolve()));
            setTimeout(resolve, 30_000 + i);
          }),
      ),
    );
  }
  process.send?.({ type: 'connected' });
  await new Promise<void>((r) => process.once('message', () => r()));
  // One pre-encoded append (low-level noise), shared by every session.
  const pcm = Buffer.alloc(24 * o.chunkMs * 2);
  for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 200) - 100, i);
  const frame = JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64') });
  const started = performance.now();
  const arrivalsMs = arrival > 0 ? (o.count * 1000) / arrival : 0;
  let opened = arrival > 0 ? 0 : o.count;
  let sent = 0;
  let lateMax = 0;
  for (let tick = 0; performance.now() - started < arrivalsMs + o.seconds * 1000; tick++) {
    const due = started + tick * o.chunkMs;
    const late = performance.now() - due;
    if (late > lateMax) lateMax = late;
    for (; opened < o.count && started + (opened * 1000) / arrival <= performance.now(); opened++) open(o, (ws) => streaming.push(ws), onRefused);
    for (const s of streaming) {
      if (s.readyState === WebSocket.OPEN) {
        s.send(frame);
        sent++;
      }
    }
    const wait = due + o.chunkMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const report: IngestClientReport = { type: 'done', sent, lateMax, admitted: streaming.length, refused };
  process.send?.(report);
  for (const s of streaming) s.terminate();
  process.exit(0);
}
