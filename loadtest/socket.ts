// One Realtime WebSocket for the loadtest (the `ws` package, GA protocol): dials any endpoint —
// Parley or OpenAI — with `Authorization: Bearer`, hands every JSON server event with its arrival
// time to one listener, and knows whether a close was asked for (ours) or not (a dropped session).
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface ServerEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** True when we closed it; false for a server close or a broken connection. */
  readonly expected: boolean;
  readonly at: number;
}

export interface RealtimeSocket {
  /** Sends one client event; false once the socket is closing or closed. */
  send(event: Record<string, unknown>): boolean;
  onEvent(listener: (ev: ServerEvent, at: number) => void): void;
  onSocketError(listener: (err: Error) => void): void;
  bufferedAmount(): number;
  readonly closed: Promise<CloseInfo>;
  close(): Promise<CloseInfo>;
}

export interface DialOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly model: string;
  readonly ca?: string | undefined;
  readonly insecure: boolean;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/** `?model=` is added when the URL has neither `model` nor `intent`. */
export function realtimeUrl(url: string, model: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('model') && !u.searchParams.has('intent')) u.searchParams.set('model', model);
  return u.toString();
}

export async function dialRealtime(opts: DialOptions): Promise<RealtimeSocket> {
  const ws = new WebSocket(realtimeUrl(opts.url, opts.model), {
    headers: { Authorization: `Bearer ${opts.apiKey}` },
    perMessageDeflate: false,
    handshakeTimeout: opts.timeoutMs,
    maxPayload: 0,
    ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
    ...(opts.insecure ? { rejectUnauthorized: false } : {}),
  });
  let listener: (ev: ServerEvent, at: number) => void = () => undefined;
  let errorListener: (err: Error) => void = () => undefined;
  let closing = false;
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), expected: closing, at: opts.now() }));
  });
  // 'error' always has a listener: an unguarded one would crash the worker.
  ws.on('error', (err) => errorListener(err));
  ws.on('message', (data, isBinary) => {
    const at = opts.now();
    if (isBinary) return;
    let ev: ServerEvent;
    try {
      ev = JSON.parse(String(data)) as ServerEvent;
    } catch {
      ev = { type: 'loadtest.invalid_json' };
    }
    listener(ev, at);
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    ws.once('open', () => {
      ws.off('error', fail);
      resolve();
    });
    ws.once('error', fail); // a refused upgrade arrives here as "Unexpected server response: <status>"
  });
  return {
    send(event) {
      if (closing || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(event));
      return true;
    },
    onEvent: (l) => void (listener = l),
    onSocketError: (l) => void (errorListener = l),
    bufferedAmount: () => ws.bufferedAmount,
    closed,
    close() {
      if (!closing) {
        closing = true;
        if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000, 'loadtest done');
        const force = setTimeout(() => ws.terminate(), 3_000);
        void closed.then(() => clearTimeout(force));
      }
      return closed;
    },
  };
}
