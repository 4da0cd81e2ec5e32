// Every Prometheus metric Parley exports, defined once. Histogram buckets are chosen around the
// latency budgets (seed 000): STT first token < 100 ms, LLM first token < 500 ms, TTS first audio
// < 550 ms, platform overhead < 15 ms. Durations are observed in seconds (Prometheus convention).
import { readFile } from 'node:fs/promises';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

export const registry = new Registry();

const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** The VAD's delays: fine around the 100 ms target for the decision lag. */
const LAG_BUCKETS = [0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5, 1, 2];
const PHASE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

let defaultsCollected = false;
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
}

interface HotCount {
  readonly labels: LabelValues<string>;
  n: number;
}
const hotCounts = new Map<Counter<string>, HotCount[]>();

/**
 * One labelled series of a counter on a hot path (an append, a VAD frame: tens of thousands a
 * second): it counts in a plain number, handed to prom-client when the metric is collected (the
 * counter's collect() calls flushHotCounts). prom-client's inc() hashes the labels on every call,
 * a bound child's too: ~0.1 us alone, several times that inside a loaded gateway.
 */
export function hotCounter<T extends string>(counter: Counter<T>, labels: LabelValues<T>): { inc(by?: number): void } {
  const count: HotCount = { labels, n: 0 };
  const list = hotCounts.get(counter as Counter<string>) ?? [];
  hotCounts.set(counter as Counter<string>, list);
  list.push(count);
  return {
    inc(by = 1) {
      count.n += by;
    },
  };
}

function flushHotCounts(counter: Counter<string>): void {
  for (const c of hotCounts.get(counter) ?? []) {
    if (c.n === 0) continue;
    counter.inc(c.labels, c.n);
    c.n = 0;
  }
}

export const metrics = {
  connectionsActive: new Gauge({ name: 'parley_connections_active', help: 'Open Realtime WebSocket connections', registers: [registry] }),
  eventLoopUtilization: new Gauge({
    name: 'parley_gateway_event_loop_utilization',
    help: "Share of the gateway thread's time spent running callbacks over the last 2 s (0..1)",
    registers: [registry],
  }),
  eventLoopDelay: new Gauge({
    name: 'parley_gateway_event_loop_delay_seconds',
    help: "Mean delay of the gateway thread's event loop over the last 2 s; new sessions are refused above PARLEY_ADMISSION_MAX_LAG_MS",
    registers: [registry],
  }),
  connections: new Counter({
    name: 'parley_connections_total',
    help: 'Realtime connection attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  clientEvents: new Counter({
    name: 'parley_client_events_total',
    help: 'Client events received, by type (unknown types counted as "unknown")',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      flushHotCounts(this);
    },
  }),
  serverEvents: new Counter({ name: 'parley_server_events_total', help: 'Server events sent, by type', labelNames: ['type'] as const, registers: [registry] }),
  clientErrors: new Counter({ name: 'parley_client_errors_total', help: 'error events sent to clients, by code', labelNames: ['code'] as const, registers: [registry] }),
  wsMessageSeconds: new Histogram({
    name: 'parley_ws_message_seconds',
    help: 'Time to handle one client WebSocket message',
    buckets: FAST_BUCKETS,
    registers: [registry],
  }),
  backpressureDrops: new Counter({ name: 'parley_ws_backpressure_closed_total', help: 'Sessions closed because the client could not keep up', registers: [registry] }),
  audioPublished: new Counter({ name: 'parley_audio_frames_published_total', help: 'Input audio frames published to JetStream', registers: [registry] }),
  audioPublishedSeconds: new Counter({ name: 'parley_audio_published_seconds_total', help: 'Seconds of input audio published to JetStream', registers: [registry] }),
  audioPublishFailures: new Counter({ name: 'parley_audio_publish_failures_total', help: 'Input audio frame publishes that failed after retries', registers: [registry] }),
  audioPublishSeconds: new Histogram({ name: 'parley_audio_publish_seconds', help: 'PubAck latency of input audio frames', buckets: FAST_BUCKETS, registers: [registry] }),
  vadBatchSize: new Histogram({ name: 'parley_vad_batch_size', help: 'Silero chunks per batched inference', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] }),
  vadFrames: new Counter({
    name: 'parley_vad_frames_total',
    help: 'VAD frames decided, by how: inferred (Silero) or silent (below PARLEY_VAD_SILENCE_FLOOR_DBFS, no inference)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      flushHotCounts(this);
    },
  }),
  vadInferenceSeconds: new Histogram({ name: 'parley_vad_inference_seconds', help: 'Silero batched inference time', buckets: FAST_BUCKETS, registers: [registry] }),
  vadLagSeconds: new Histogram({
    name: 'parley_vad_lag_seconds',
    help: 'Audio frame age when the VAD finished processing it (publish at gateway -> decision)',
    buckets: LAG_BUCKETS,
    registers: [registry],
  }),
  vadDeliverySeconds: new Histogram({
    name: 'parley_vad_delivery_seconds',
    help: 'Audio frame age when it reached the VAD worker (publish at gateway -> delivered by the bus); the rest of parley_vad_lag_seconds is the worker',
    buckets: LAG_BUCKETS,
    registers: [registry],
  }),
  busDeliverySeconds: new Histogram({
    name: 'parley_bus_delivery_seconds',
    help: 'Message age when its handler started (stored in the stream -> handled), per consumer: the bus part of each hop on the path to first audio (hosts with different clocks add their offset)',
    labelNames: ['consumer'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  }),
  vadSessions: new Gauge({ name: 'parley_vad_sessions', help: 'Sessions with VAD state held by this worker', registers: [registry] }),
  partitionsOwned: new Gauge({ name: 'parley_partitions_owned', help: 'Audio partitions this worker holds a lease on', labelNames: ['stage'] as const, registers: [registry] }),
  stageJobs: new Counter({ name: 'parley_stage_jobs_total', help: 'Stage jobs by outcome', labelNames: ['stage', 'outcome'] as const, registers: [registry] }),
  stageInflight: new Gauge({ name: 'parley_stage_inflight', help: 'Jobs in progress per stage', labelNames: ['stage'] as const, registers: [registry] }),
  stageJobSeconds: new Histogram({ name: 'parley_stage_job_seconds', help: 'Job handling time per stage', labelNames: ['stage'] as const, buckets: PHASE_BUCKETS, registers: [registry] }),
  engineFirstOutputSeconds: new Histogram({
    name: 'parley_engine_first_output_seconds',
    help: 'Engine time to first output (STT transcript, LLM token, TTS audio)',
    labelNames: ['stage', 'engine'] as const,
    buckets: PHASE_BUCKETS,
    registers: [registry],
  }),
  engineErrors: new Counter({ name: 'parley_engine_errors_total', help: 'Engine failures', labelNames: ['stage', 'engine', 'code'] as const, registers: [registry] }),
  ttsRealtimeFactor: new Histogram({
    name: 'parley_tts_realtime_factor',
    help: 'Audio seconds produced per second of synthesis',
    labelNames: ['engine'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 50, 100],
    registers: [registry],
  }),
  turnPhaseSeconds: new Histogram({
    name: 'parley_turn_phase_seconds',
    help: 'Per-turn latency phases measured at the gateway: speech_stopped->transcript (stt), ->first text (llm), ->first audio (tts), end of speech->first audio (total)',
    labelNames: ['phase'] as const,
    buckets: PHASE_BUCKETS,
    registers: [registry],
  }),
  sessionRestoreSeconds: new Histogram({
    name: 'parley_session_restore_seconds',
    help: 'Time to resume a session on this gateway (upgrade request -> session.created): KV state, conversation log, audio position',
    buckets: FAST_BUCKETS,
    registers: [registry],
  }),
  cancelSeconds: new Histogram({
    name: 'parley_cancel_seconds',
    help: 'Cancel published (barge-in, response.cancel) -> running LLM/TTS work aborted, per stage (budget: 50 ms)',
    labelNames: ['stage'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  }),
  rateLimited: new Counter({ name: 'parley_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['policy'] as const, registers: [registry] }),
  rateLimiterErrors: new Counter({ name: 'parley_rate_limiter_errors_total', help: 'Rate-limit checks that could not reach the limiter (allowed)', registers: [registry] }),
  rateLimitCheckSeconds: new Histogram({ name: 'parley_rate_limit_check_seconds', help: 'Time of one distributed rate-limit check (budget: 5 ms p99)', buckets: FAST_BUCKETS, registers: [registry] }),
  sessionStateWriteSeconds: new Histogram({ name: 'parley_session_state_write_seconds', help: 'Time to write a session record to KV (budget: 50 ms p99)', buckets: FAST_BUCKETS, registers: [registry] }),
  responses: new Counter({ name: 'parley_responses_total', help: 'Responses by final status', labelNames: ['status'] as const, registers: [registry] }),
  persistRows: new Counter({ name: 'parley_persist_rows_total', help: 'Conversation records written to the database', labelNames: ['kind'] as const, registers: [registry] }),
  persistBatchSeconds: new Histogram({ name: 'parley_persist_batch_seconds', help: 'Database write time per batch', buckets: FAST_BUCKETS, registers: [registry] }),
  natsStatus: new Counter({ name: 'parley_nats_status_events_total', help: 'NATS connection status events', labelNames: ['type'] as const, registers: [registry] }),
  deadLetters: new Counter({ name: 'parley_dead_letters_total', help: 'Messages parked after exhausting their deliveries', labelNames: ['stage'] as const, registers: [registry] }),
  unhandled: new Counter({ name: 'parley_unhandled_rejections_total', help: 'Unhandled promise rejections and uncaught exceptions', registers: [registry] }),
};

/** Age of a stream message from its server timestamp (JsMsg.info.timestampNanos; wall clock, sub-millisecond). */
export function observeBusDelivery(consumer: 'stt' | 'llm' | 'tts' | 'outbox', storedNanos: number): void {
  const now = performance.timeOrigin + performance.now();
  metrics.busDeliverySeconds.observe({ consumer }, Math.max(0, now - storedNanos / 1e6) / 1000);
}

export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

// Metrics gathered elsewhere (worker threads) and merged into /metrics.
const extraSources = new Set<() => unknown[]>();

export function addMetricsSource(source: () => unknown[]): () => void {
  extraSources.add(source);
  return () => extraSources.delete(source);
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI Node supports

/**
 * CPU seconds of a child process we started (the embedded nats-server), read from /proc/<pid>/stat
 * at scrape time, so one /metrics shows what the whole embedded installation costs. Linux only;
 * elsewhere (or once the child is gone) the series is simply absent.
 */
export function watchChildCpu(pid: number, child: string): () => void {
  const name = 'parley_child_process_cpu_seconds';
  if (registry.getSingleMetric(name)) return () => undefined; // a second embedded server in one process: the first is shown
  new Gauge({
    name,
    help: 'CPU time (user + system) of a child process of this Parley process, e.g. the embedded nats-server',
    labelNames: ['child'] as const,
    registers: [registry],
    async collect() {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
      // Fields after the command name (which may hold spaces): state is the 3rd field, utime the 14th.
      const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (!fields) return;
      this.set({ child }, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
    },
  });
  return () => registry.removeSingleMetric(name);
}

/** Prometheus text of this process plus every added source (worker threads). */
export async function exposition(): Promise<string> {
  if (extraSources.size === 0) return registry.metrics();
  const own = await registry.getMetricsAsJSON();
  const all = [own, ...[...extraSources].map((s) => s())].filter((m) => Array.isArray(m) && m.length > 0);
  return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}
