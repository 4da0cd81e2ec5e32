// OpenTelemetry tracing. The SDK starts only when OTEL_EXPORTER_OTLP_ENDPOINT is configured; the
// API is a no-op otherwise. Trace context crosses the bus in NATS headers (W3C traceparent), so
// one turn is one trace from the gateway through VAD, STT, LLM and TTS.
import { context, propagation, trace, SpanStatusCode, type Context, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/nats-core';

/** Span attribute names, in one place. */
export const ATTR = {
  session: 'parley.session_id',
  response: 'parley.response_id',
  item: 'parley.item_id',
  stage: 'parley.stage',
  engine: 'parley.engine',
  sentence: 'parley.sentence',
  delivery: 'messaging.message.delivery_count',
  subject: 'messaging.destination.name',
} as const;

const tracer = () => trace.getTracer('parley');

let shutdownHook: (() => Promise<void>) | undefined;

export async function startTracing(opts: { endpoint: string | undefined; serviceName: string }): Promise<void> {
  if (!opts.endpoint || shutdownHook) return;
  // Loaded lazily: the SDK is heavy and most laptops run without a collector.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/$/, '')}/v1/traces` }),
  });
  sdk.start();
  shutdownHook = () => sdk.shutdown();
}

export async function stopTracing(): Promise<void> {
  const hook = shutdownHook;
  shutdownHook = undefined;
  await hook?.();
}

const setter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: (carrier) => (carrier ? carrier.keys() : []),
};

export function injectTrace(headers: MsgHdrs, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, setter);
}

export function extractTrace(headers: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), headers, getter);
}

/** Run `fn` inside a span that continues the trace carried by `headers`. */
export async function inSpan<T>(name: string, parent: Context, attrs: Record<string, string | number>, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: attrs }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

export function startSpan(name: string, attrs: Record<string, string | number>, parent?: Context): Span {
  return tracer().startSpan(name, { attributes: attrs }, parent ?? context.active());
}

export function contextWithSpan(span: Span): Context {
  return trace.setSpan(context.active(), span);
}
