// Publishing to JetStream with the guarantees the pipeline relies on: every message that creates
// something carries a stable Nats-Msg-Id, so a retry after a lost PubAck (leader election, reconnect)
// is de-duplicated by the server instead of duplicated. Retries back off; failures surface as
// TransportError.
import type { MsgHdrs } from '@nats-io/nats-core';
import type { Bus } from './bus.ts';
import type { PubAckInfo } from './acking-publisher.ts';
import { HEADER, type MessageKind } from '../../schemas/index.ts';
import { CancelledError, TransportError, errorMessage } from '../errors.ts';
import { injectTrace } from '../tracing.ts';
import { abortableDelay } from '../delay.ts';
import { WireHeaders } from './wire-headers.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson(data: Uint8Array): unknown {
  return JSON.parse(decoder.decode(data));
}

/** decodeJson, or undefined when the bytes are not JSON (for a validator to refuse). */
export function decodeJsonOrUndefined(data: Uint8Array): unknown {
  try {
    return decodeJson(data);
  } catch {
    return undefined;
  }
}

/** Where a message's attachment starts (HEADER.attachment), undefined without one; throws when the offset is not inside the data. */
export function attachmentOffset(data: Uint8Array, headers: MsgHdrs | undefined): number | undefined {
  const at = headers?.get(HEADER.attachment);
  if (!at) return undefined;
  const offset = Number(at);
  if (!Number.isInteger(offset) || offset < 0 || offset > data.length) throw new Error(`${HEADER.attachment} ${at} is outside the ${data.length}-byte message`);
  return offset;
}

/** The JSON body of a message and its attachment, if it has one (see publishJson; throws on a malformed body or offset). */
export function decodeJsonMessage(data: Uint8Array, headers: MsgHdrs | undefined): { body: unknown; attachment?: Uint8Array } {
  const offset = attachmentOffset(data, headers);
  if (offset === undefined) return { body: decodeJson(data) };
  return { body: decodeJson(data.subarray(0, offset)), attachment: data.subarray(offset) };
}

export interface PublishOptions {
  /** Stable id for de-duplication within the stream's duplicate window. */
  readonly msgId?: string;
  readonly kind?: MessageKind;
  readonly headers?: Record<string, string>;
  /**
   * How long to keep retrying before giving up. A nats-server 2.9 stream-leader election after a
   * crash stalls publishes for 5–7 s (Raft election timeouts of 4–9 s), so the default rides
   * through one with room to spare; the Nats-Msg-Id makes every retry safe.
   */
  readonly retryForMs?: number;
  readonly signal?: AbortSignal;
}

export function buildHeaders(kind: MessageKind | undefined, extra: Record<string, string> | undefined, msgId?: string): WireHeaders {
  const h = new WireHeaders();
  if (msgId) h.set('Nats-Msg-Id', msgId);
  if (kind) h.set(HEADER.kind, kind);
  if (extra) for (const [k, v] of Object.entries(extra)) h.set(k, v);
  injectTrace(h);
  return h;
}


export const DEFAULT_RETRY_FOR_MS = 20_000;

/** Publish and wait for the PubAck, retrying transient failures with backoff until the deadline. */
export function publishDurable(bus: Bus, subject: string, payload: Uint8Array, opts: PublishOptions = {}): Promise<PubAckInfo> {
  return publishWithHeaders(bus, subject, payload, buildHeaders(opts.kind, opts.headers, opts.msgId), opts);
}

/** publishDurable with headers already built (the input audio's own header blocks); `kind`, `headers` and `msgId` of `opts` are not used. */
export async function publishWithHeaders(bus: Bus, subject: string, payload: Uint8Array, headers: MsgHdrs, opts: Pick<PublishOptions, 'retryForMs' | 'signal'> = {}): Promise<PubAckInfo> {
  const deadline = Date.now() + (opts.retryForMs ?? DEFAULT_RETRY_FOR_MS);
  let lastErr: unknown;
  for (let attempt = 0; ; attempt++) {
    // Cancelled work is not a transport failure: the caller must see a cancel, never a retryable error.
    if (opts.signal?.aborted) throw new CancelledError(`publish to ${subject} abandoned: the work was cancelled`);
    try {
      return await bus.publisher.publish(subject, payload, headers);
    } catch (err) {
      lastErr = err;
      const wait = Math.min(1_000, 50 * 2 ** attempt);
      if (Date.now() + wait >= deadline) break;
      await abortableDelay(wait, opts.signal); // a cancel ends the wait at once
    }
  }
  throw new TransportError(`publish to ${subject} failed for ${opts.retryForMs ?? DEFAULT_RETRY_FOR_MS} ms: ${errorMessage(lastErr)}`, lastErr);
}

/**
 * `attachment`: raw bytes carried after the JSON, HEADER.attachment saying where they start. Audio
 * that goes with a job travels without base64, which was a measured ~8% of the VAD thread and ~4%
 * of the main one at 300 sessions (stringify and encode on one side, decode and parse on the other).
 */
export function publishJson(bus: Bus, subject: string, body: unknown, opts: PublishOptions & { readonly attachment?: Uint8Array } = {}): Promise<PubAckInfo> {
  const { attachment, ...rest } = opts;
  const json = encodeJson(body);
  if (!attachment) return publishDurable(bus, subject, json, { kind: 'event', ...rest });
  const data = new Uint8Array(json.length + attachment.length);
  data.set(json, 0);
  data.set(attachment, json.length);
  return publishDurable(bus, subject, data, { kind: 'event', ...rest, headers: { ...rest.headers, [HEADER.attachment]: String(json.length) } });
}
