// Child process for bench-ingest: `count` Realtime sessions, each appending 20 ms of audio every
// 20 ms (real-time pace, one timer for all of them), for `seconds`. Reports how many appends it
// sent and how late its own timer ran, so a slow client is not mistaken for a slow gateway.
import WebSocket from 'ws';

interface Start {
  url: string;
  key: string;
  count: number;
  seconds: number;
  chunkMs: number;
}

process.on('message', (m: { type: string } & Partial<Start>) => {
  if (m.type === 'start') void run(m as Start);
});

async function run(o: Start): Promise<void> {
  const sockets: WebSocket[] = [];
  await Promise.all(
    Array.from({ length: o.count }, (_, i) => {
      const ws = new WebSocket(o.url, { headers: { Authorization: `Bearer ${o.key}` }, perMessageDeflate: false });
      sockets.push(ws);
      ws.on('error', () => undefined);
      return new Promise<void>((resolve) => {
        ws.once('message', () => {
          // Manual commits only: the bench measures ingest, not turns.
          ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } }));
          resolve();
        });
        setTimeout(resolve, 30_000 + i);
      });
    }),
  );
  process.send?.({ type: 'connected', count: sockets.filter((s) => s.readyState === WebSocket.OPEN).length });
  await new Promise<void>((r) => process.once('message', () => r()));
  // One pre-encoded append (low-level noise), shared by every session.
  const pcm = Buffer.alloc(24 * o.chunkMs * 2);
  for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 200) - 100, i);
  const frame = JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64') });
  const started = performance.now();
  let sent = 0;
  let lateMax = 0;
  for (let tick = 0; performance.now() - started < o.seconds * 1000; tick++) {
    const due = started + tick * o.chunkMs;
    const late = performance.now() - due;
    if (late > lateMax) lateMax = late;
    for (const s of sockets) {
      if (s.readyState === WebSocket.OPEN) {
        s.send(frame);
        sent++;
      }
    }
    const wait = due + o.chunkMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  process.send?.({ type: 'done', sent, lateMax });
  for (const s of sockets) s.terminate();
  process.exit(0);
}
