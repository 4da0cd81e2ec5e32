// A thin wrapper around one uWS WebSocket that knows when it is closed (uWS sockets must never be
// touched after close) and watches back-pressure: a client that cannot keep up is told and dropped
// instead of growing our memory without bound. Keeping the socket layer this thin lets it change.
import type { WebSocket } from 'uWebSockets.js';
import { metrics } from '../lib/metrics.ts';

export interface SocketData {
  readonly connectionId: number;
  /** Set by the upgrade handler (who the client is and what it asked for); cleared on open. */
  handshake: unknown;
  /** Filled in on open. */
  conn?: Connection;
  /** The RealtimeSession (typed loosely here to keep the socket layer free of session imports). */
  session?: unknown;
  /** Client events received before the session exists (copies; uWS reuses its buffers). */
  early?: { readonly message: ArrayBuffer; readonly isBinary: boolean }[] | undefined;
}

export class Connection {
  private closed = false;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly maxBufferedBytes: number,
    private readonly onTooSlow: () => void,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Called by the uWS close handler; after this every send is a no-op. */
  markClosed(): void {
    this.closed = true;
  }

  /** Send a text frame; returns false when the socket is gone or the client is too slow. */
  sendText(text: string): boolean {
    if (this.closed) return false;
    const status = this.ws.send(text, false, false);
    if (status === 2 || this.ws.getBufferedAmount() > this.maxBufferedBytes) {
      metrics.backpressureDrops.inc();
      this.onTooSlow();
      return false;
    }
    return true;
  }

  /**
   * Run `fn` with this socket corked: every frame it sends goes out in one write. uWS corks its own
   * callbacks; events that arrive from the bus (several frames per outbox message at the end of a
   * response) would otherwise cost a syscall per frame.
   */
  corked(fn: () => void): void {
    if (this.closed) fn();
    else this.ws.cork(fn);
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  /** Graceful close with a code and reason (reason trimmed to the protocol's 123 bytes). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason.slice(0, 120));
  }

  ping(): void {
    if (!this.closed) this.ws.ping();
  }
}
