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
  /** Sends an already serialized client event (the pre-encoded audio appends). */
  /** A serialized client event, sent as a text frame. */
  sendRaw(message: string | Buffer): boolean;
  onEvent(listener: (ev: ServerEvent, at: number) => void): void;
  onSocketError(listener: (err: Error) => void): void;
  bufferedAmount(): number;
  readonly closed: Promise<CloseInfo>;
  /** Aborted when the socket has closed, for whoever waits on something else meanwhile. */
  readonly closedSignal: AbortSignal;
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
  // Events that arrive before the caller listens (session.created can come with the upgrade) wait here.
  const early: Array<[ServerEvent, number]> = [];
  let listener: (ev: ServerEvent, at: number) => void = (ev, at) => void early.push([ev, at]);
  let errorListener: (err: Error) => void = () => undefined;
  let closing = false;
  const gone = new AbortController();
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString(), expected: closing, at: opts.now() });
      gone.abort();
    });
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
  const sendRaw = (message: string | Buffer): boolean => {
    if (closing || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(message, { binary: false });
    return true;
  };
  return {
    send: (event) => sendRaw(JSON.stringify(event)),
    sendRaw,
    onEvent(l) {
      listener = l;
      for (const [ev, at] of early.splice(0)) l(ev, at);
    },
    onSocketError: (l) => void (errorListener = l),
    bufferedAmount: () => ws.bufferedAmount,
    closed,
    closedSignal: gone.signal,
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
