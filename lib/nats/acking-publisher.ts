// JetStream publishes with their PubAck, on the hot path. `js.publish` goes through the client's
// generic request machinery, which arms a timer and builds an Error (with a stack) for every
// request — a measured ~5% of the gateway's CPU under audio load. Here one wildcard subscription
// receives every PubAck of the connection, and one sweep per second times out the lost ones.
import { createInbox, type MsgHdrs, type NatsConnection, type Msg, type Subscription } from '@nats-io/nats-core';
import { TransportError } from '../errors.ts';

export interface PubAckInfo {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

interface Pending {
  resolve(ack: PubAckInfo): void;
  reject(err: Error): void;
  readonly at: number;
  readonly subject: string;
}

export class AckingPublisher {
  private readonly prefix = createInbox();
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5_000,
  ) {
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => (err ? undefined : this.onReply(msg)) });
    this.sweeper = setInterval(() => this.sweep(), 1_000);
    this.sweeper.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAckInfo> {
    const id = ++this.next;
    return new Promise<PubAckInfo>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, at: Date.now(), subject });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${id}`, headers });
      } catch (err) {
        this.pending.delete(id);
        reject(new TransportError(`publish to ${subject} failed: ${(err as Error).message}`, err));
      }
    });
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new TransportError('connection closing'));
    }
  }

  private onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.prefix.length + 1));
    const p = this.pending.get(id);
    if (!p) return; // timed out already; a retry carries the same Nats-Msg-Id
    this.pending.delete(id);
    if (msg.headers?.hasError) {
      // 503: no JetStream answered (stream leader election, no stream for the subject).
      p.reject(new TransportError(`no JetStream response for ${p.subject} (${msg.headers.code} ${msg.headers.description})`));
      return;
    }
    let body: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      body = msg.json();
    } catch {
      p.reject(new TransportError(`unreadable PubAck for ${p.subject}`));
      return;
    }
    if (body.error) {
      p.reject(new TransportError(`JetStream refused ${p.subject}: ${body.error.description ?? 'error'} (${body.error.err_code ?? body.error.code ?? '?'})`));
      return;
    }
    p.resolve({ stream: body.stream ?? '', seq: body.seq ?? 0, duplicate: body.duplicate === true });
  }

  private sweep(): void {
    const horizon = Date.now() - this.timeoutMs;
    for (const [id, p] of this.pending) {
      if (p.at > horizon) break; // insertion order is time order
      this.pending.delete(id);
      p.reject(new TransportError(`no PubAck for ${p.subject} within ${this.timeoutMs} ms`));
    }
  }
}
