// Test driver around the official `openai` SDK Realtime WebSocket clients (GA and beta): records
// every server event with its arrival time, waits for events by type (ordering by events, not
// sleeps), and streams PCM16 audio at real-time pace.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWS as OpenAIRealtimeWSBeta } from 'openai/beta/realtime/ws';

export interface RecordedEvent {
  readonly at: number;
  readonly event: Record<string, unknown> & { type: string };
}

export interface RealtimeTestClient {
  readonly events: RecordedEvent[];
  send(event: Record<string, unknown>): void;
  waitFor(type: string, pred?: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Append audio in `chunkMs` pieces, paced in real time when `realtime`. Returns when the last chunk is sent. */
  streamAudio(pcm: Uint8Array, opts?: { chunkMs?: number; realtime?: boolean }): Promise<number>;
  types(): string[];
  close(): Promise<void>;
}

export async function connectRealtime(opts: { baseURL: string; apiKey: string; certFile: string; beta?: boolean; model?: string; intent?: 'transcription' }): Promise<RealtimeTestClient> {
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL });
  const wsOptions = { ca: readFileSync(opts.certFile) };
  const props = opts.intent ? { intent: opts.intent, options: wsOptions } : { model: opts.model ?? 'gpt-realtime', options: wsOptions };
  // The GA and beta classes share their socket handling; only the event typings differ.
  const rt = (opts.beta ? new OpenAIRealtimeWSBeta(props as never, client) : new OpenAIRealtimeWS(props as never, client)) as unknown as OpenAIRealtimeWS;
  const events: RecordedEvent[] = [];
  const waiters: Array<{ type: string; pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  const seen = (event: Record<string, unknown> & { type: string }) => {
    events.push({ at: performance.now(), event });
    for (const w of [...waiters]) {
      if (w.type === event.type && w.pred(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  };
  // Errors are events too: the SDK turns them into OpenAIRealtimeError; record the raw payload.
  rt.socket.on('message', (data: Buffer) => {
    try {
      seen(JSON.parse(data.toString()) as Record<string, unknown> & { type: string });
    } catch {
      /* not JSON: the test will see it missing */
    }
  });
  rt.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => rt.socket.once('close', () => resolve()));
  return {
    events,
    send: (event) => rt.send(event as never),
    waitFor(type, pred = () => true, timeoutMs = 15_000) {
      const found = events.find((e) => e.event.type === type && pred(e.event));
      if (found) return Promise.resolve(found.event);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}; saw: ${events.map((e) => e.event.type).join(', ')}`));
        }, timeoutMs);
        const w = {
          type,
          pred,
          resolve: (e: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        waiters.push(w);
      });
    },
    async streamAudio(pcm, o = {}) {
      const chunkMs = o.chunkMs ?? 40;
      const bytes = Math.round((24_000 * chunkMs) / 1000) * 2;
      const start = performance.now();
      let sent = 0;
      for (let at = 0; at < pcm.length; at += bytes) {
        const piece = pcm.subarray(at, Math.min(pcm.length, at + bytes));
        rt.send({ type: 'input_audio_buffer.append', audio: Buffer.from(piece).toString('base64') } as never);
        sent += piece.length;
        if (o.realtime !== false) {
          const due = start + (sent / 48_000) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
      return performance.now();
    },
    types: () => events.map((e) => e.event.type),
    async close() {
      rt.close();
      await closed;
    },
  };
}
