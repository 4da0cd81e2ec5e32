// Connections the conformance suite drives, all recording into the running test's Scope:
// the official `openai` SDK Realtime clients (GA `openai/realtime/ws`, beta `openai/beta/realtime/ws`)
// over wss://, and a raw `ws` client (plain ws://) for handshakes and what SDKs never send.
// Waiting is by events, never by sleeps.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWS as OpenAIRealtimeWSBeta } from 'openai/beta/realtime/ws';
import WebSocket from 'ws';
import type { TestPlatform } from '../../support/platform.ts';
import { TEST_KEY } from '../../support/platform.ts';
import type { Iface, Scope } from './recorder.ts';

/** A server event: arbitrary JSON, checked by the tests' assertions. */
export type Ev = Record<string, any> & { type: string };

export interface Conn {
  readonly iface: Iface;
  readonly events: Array<{ at: number; ev: Ev }>;
  readonly protocol: string;
  readonly pings: number[];
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  /** Send a client event (recorded). */
  send(event: Record<string, unknown>): void;
  /** Send anything (not recorded as a typed client event). */
  sendRaw(data: string | Buffer): void;
  /** Index to pass as `from` so a wait only considers later events. */
  mark(): number;
  /** The first event of `type` ('*': any type) matching `pred`, at index `from` or later. */
  waitFor(type: string, pred?: (e: Ev) => boolean, opts?: { timeoutMs?: number; from?: number }): Promise<Ev>;
  /** Send `event` with an event_id and wait for the error that names it. */
  expectError(event: Record<string, unknown>, timeoutMs?: number): Promise<Ev>;
  /** Every event of `type` (optionally matching) seen so far. */
  all(type: string, pred?: (e: Ev) => boolean): Ev[];
  types(from?: number): string[];
  close(): Promise<void>;
}

let clientEventSeq = 0;

function makeConn(
  iface: Iface,
  scope: Scope,
  socket: WebSocket,
  sendJson: (e: Record<string, unknown>) => void,
): { conn: Conn; opened: Promise<void> } {
  const events: Array<{ at: number; ev: Ev }> = [];
  const pings: number[] = [];
  const seenIds = new Set<string>();
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      scope.violations.push('server sent a binary frame');
      return;
    }
    try {
      events.push({ at: performance.now(), ev: scope.server(iface, data.toString(), seenIds) as Ev });
    } catch (err) {
      scope.violations.push(`server frame is not JSON: ${(err as Error).message}`);
    }
    for (const w of [...waiters]) w();
  });
  socket.on('ping', () => pings.push(performance.now()));
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString(), at: performance.now() });
      for (const w of [...waiters]) w();
    }),
  );
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const find = (type: string, pred: (e: Ev) => boolean, from: number) => {
    for (let i = from; i < events.length; i++) {
      const e = events[i]!.ev;
      if ((type === '*' || e.type === type) && pred(e)) return e;
    }
    return undefined;
  };
  const conn: Conn = {
    iface,
    events,
    pings,
    closed,
    get protocol() {
      return socket.protocol;
    },
    send(event) {
      scope.client(iface, String(event['type']));
      sendJson(event);
    },
    sendRaw: (data) => socket.send(data, { binary: Buffer.isBuffer(data) }),
    mark: () => events.length,
    waitFor(type, pred = () => true, opts = {}) {
      const from = opts.from ?? 0;
      const timeoutMs = opts.timeoutMs ?? 15_000;
      const hit = find(type, pred, from);
      if (hit) return Promise.resolve(hit);
      if (socket.readyState === WebSocket.CLOSED) return Promise.reject(new Error(`socket closed before ${type}; saw: ${conn.types(from).join(', ')}`));
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = find(type, pred, from);
          if (e) {
            done();
            resolve(e);
          } else if (socket.readyState === WebSocket.CLOSED) {
            done();
            reject(new Error(`socket closed while waiting for ${type}; saw: ${conn.types(from).join(', ')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}; saw: ${conn.types(from).join(', ')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    async expectError(event, timeoutMs = 5_000) {
      const id = typeof event['event_id'] === 'string' ? (event['event_id'] as string) : `evt_c${++clientEventSeq}`;
      const from = conn.mark();
      conn.send({ ...event, event_id: id });
      return conn.waitFor('error', (e) => e['error']?.event_id === id, { timeoutMs, from });
    },
    all: (type, pred = () => true) => events.filter((e) => e.ev.type === type && pred(e.ev)).map((e) => e.ev),
    types: (from = 0) => events.slice(from).map((e) => e.ev.type),
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close(1000);
      await closed;
    },
  };
  return { conn, opened };
}

/** The official SDK client (GA or beta class) over wss:// with the platform's certificate. */
export async function connectSdk(
  platform: TestPlatform,
  scope: Scope,
  opts: { beta?: boolean; apiKey?: string; model?: string; intent?: 'transcription' } = {},
): Promise<Conn> {
  const client = new OpenAI({ apiKey: opts.apiKey ?? TEST_KEY, baseURL: platform.wssBase });
  const wsOptions = { ca: readFileSync(platform.certFile) };
  const props = opts.intent ? { intent: opts.intent, options: wsOptions } : { model: opts.model ?? 'gpt-realtime', options: wsOptions };
  // The GA and beta classes share their socket handling; only the event typings differ.
  const rt = (opts.beta ? new OpenAIRealtimeWSBeta(props as never, client) : new OpenAIRealtimeWS(props as never, client)) as unknown as OpenAIRealtimeWS;
  rt.on('error', () => undefined); // errors are recorded from the raw frames
  const { conn, opened } = makeConn(opts.beta ? 'beta' : 'ga', scope, rt.socket as unknown as WebSocket, (e) => rt.send(e as never));
  await opened;
  return conn;
}

/** A raw `ws` client on plain ws://, with whatever query, headers and subprotocols a test needs. */
export async function connectRaw(
  platform: TestPlatform,
  scope: Scope,
  opts: { query?: string; key?: string | null; protocols?: string[]; headers?: Record<string, string>; iface?: Iface } = {},
): Promise<Conn> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key !== null) headers['Authorization'] = `Bearer ${opts.key ?? TEST_KEY}`;
  const socket = new WebSocket(`${platform.wsBase}/realtime${opts.query ?? '?model=gpt-realtime'}`, opts.protocols ?? [], { headers });
  const beta = opts.iface === 'beta' || /realtime=v1/.test(headers['OpenAI-Beta'] ?? '') || (opts.protocols ?? []).includes('openai-beta.realtime-v1');
  const { conn, opened } = makeConn(opts.iface ?? (beta ? 'beta' : 'ga'), scope, socket, (e) => socket.send(JSON.stringify(e)));
  await opened;
  return conn;
}

/** Streams PCM16 24 kHz in `chunkMs` appends, paced in real time unless `fast`. Returns when sent. */
export async function streamAudio(conn: Conn, pcm: Uint8Array, opts: { chunkMs?: number; fast?: boolean; encode?: (pcm: Uint8Array) => Uint8Array } = {}): Promise<void> {
  const bytes = Math.round((24_000 * (opts.chunkMs ?? 40)) / 1000) * 2;
  const start = performance.now();
  for (let at = 0; at < pcm.length; at += bytes) {
    const piece = pcm.subarray(at, Math.min(pcm.length, at + bytes));
    const wire = opts.encode ? opts.encode(piece) : piece;
    conn.send({ type: 'input_audio_buffer.append', audio: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('base64') });
    if (!opts.fast) {
      const wait = start + ((at + piece.length) / 48_000) * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Indexes of the first events of each type, to assert an order. */
export function orderOf(conn: Conn, steps: Array<string | [string, (e: Ev) => boolean]>, from = 0): number[] {
  return steps.map((s) => {
    const [type, pred] = typeof s === 'string' ? [s, () => true] : s;
    return conn.events.findIndex((e, i) => i >= from && e.ev.type === type && pred(e.ev));
  });
}

export function isSorted(xs: readonly number[]): boolean {
  return xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]!));
}
