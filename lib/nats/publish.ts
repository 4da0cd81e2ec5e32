// Publishing to JetStream with the guarantees the pipeline relies on: every message that creates
// something carries a stable Nats-Msg-Id, so a retry after a lost PubAck (leader election, reconnect)
// is de-duplicated by the server instead of duplicated. Retries back off; failures surface as
// TransportError.
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import type { Bus } from './bus.ts';
import type { PubAckInfo } from './acking-publisher.ts';
import { HEADER, type MessageKind } from '../../schemas/index.ts';
import { TransportError, errorMessage } from '../errors.ts';
import { injectTrace } from '../tracing.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson(data: Uint8Array): unknown {
  return JSON.parse(decoder.decode(data));
}

export interface PublishOptions {
  /** Stable id for de-duplication within the stream's duplicate window. */
  readonly msgId?: string;
  readonly kind?: MessageKind;
  readonly headers?: Record<string, string>;
  /** Attempts before giving up (a 2.9 cluster election takes 5–7 s). */
  readonly attempts?: number;
  readonly signal?: AbortSignal;
}

export function buildHeaders(kind: MessageKind | undefined, extra: Record<string, string> | undefined, msgId?: string): MsgHdrs {
  const h = natsHeaders();
  if (msgId) h.set('Nats-Msg-Id', msgId);
  if (kind) h.set(HEADER.kind, kind);
  if (extra) for (const [k, v] of Object.entries(extra)) h.set(k, v);
  injectTrace(h);
  return h;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publish and wait for the PubAck, retrying transient failures with backoff. */
export async function publishDurable(bus: Bus, subject: string, payload: Uint8Array, opts: PublishOptions = {}): Promise<PubAckInfo> {
  const attempts = opts.attempts ?? 8;
  const headers = buildHeaders(opts.kind, opts.headers, opts.msgId);
  let lastErr: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (opts.signal?.aborted) break;
    try {
      return await bus.publisher.publish(subject, payload, headers);
    } catch (err) {
      lastErr = err;
      if (attempt + 1 < attempts) await sleep(Math.min(2_000, 50 * 2 ** attempt));
    }
  }
  throw new TransportError(`publish to ${subject} failed after ${attempts} attempts: ${errorMessage(lastErr)}`, lastErr);
}

export function publishJson(bus: Bus, subject: string, body: unknown, opts: PublishOptions = {}): Promise<PubAckInfo> {
  return publishDurable(bus, subject, encodeJson(body), { kind: 'event', ...opts });
}
