// What an embedded Parley says about itself during a run, read from its Prometheus /metrics before
// and after: CPU of the Parley process (gateway + stages + VAD thread; not its nats-server), event
// loop lag, audio publish time, and the VAD stage's batch size, inference time per frame and
// decision lag (how long a frame waited between the gateway and the VAD decision) — the
// platform's own cost under load.

export interface ServerFigures {
  readonly cpuSeconds: number;
  /** CPU seconds of the embedded nats-server (NaN when Parley uses an external NATS). */
  readonly natsCpuSeconds: number;
  /** CPU seconds per wall second: 1.0 = one core busy all the time. */
  readonly cores: number;
  readonly eventLoopLagP99Ms: number;
  readonly eventLoopLagMaxMs: number;
  readonly vadBatchMean: number;
  readonly vadInferenceUsPerFrame: number;
  readonly vadLagMeanMs: number;
  /** Share of frames whose VAD decision came more than 100 ms after the gateway sent them. */
  readonly vadLagOver100msShare: number;
  /** Gateway -> JetStream publish time of an input audio frame. */
  readonly audioPublishMeanMs: number;
  readonly backpressureClosed: number;
  readonly unhandledRejections: number;
}

type Samples = ReadonlyMap<string, number>;

/** `name{labels} value` lines into a map keyed by `name{labels}`. */
export function parsePrometheus(text: string): Samples {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const v = Number(line.slice(at + 1));
    if (at > 0 && Number.isFinite(v)) out.set(line.slice(0, at), v);
  }
  return out;
}

/** Sum over every series of `name` (any labels), or of the one exact series when `labels` is given. */
function total(s: Samples, name: string, labels?: string): number {
  if (labels !== undefined) return s.get(`${name}{${labels}}`) ?? 0;
  let sum = 0;
  for (const [k, v] of s) if (k === name || k.startsWith(`${name}{`)) sum += v;
  return sum;
}

export function serverFigures(before: string, after: string, wallMs: number): ServerFigures | undefined {
  const a = parsePrometheus(before);
  const b = parsePrometheus(after);
  if (b.size === 0) return undefined;
  const d = (name: string, labels?: string) => total(b, name, labels) - total(a, name, labels);
  const cpu = d('parley_process_cpu_seconds_total');
  const frames = d('parley_vad_batch_size_sum');
  const lagCount = d('parley_vad_lag_seconds_count');
  return {
    cpuSeconds: cpu,
    natsCpuSeconds: b.has('parley_child_process_cpu_seconds{child="nats-server"}') ? d('parley_child_process_cpu_seconds', 'child="nats-server"') : NaN,
    cores: cpu / (wallMs / 1000),
    eventLoopLagP99Ms: total(b, 'parley_nodejs_eventloop_lag_p99_seconds') * 1000,
    eventLoopLagMaxMs: total(b, 'parley_nodejs_eventloop_lag_max_seconds') * 1000,
    vadBatchMean: frames / (d('parley_vad_batch_size_count') || NaN),
    vadInferenceUsPerFrame: (d('parley_vad_inference_seconds_sum') * 1e6) / (frames || NaN),
    vadLagMeanMs: (d('parley_vad_lag_seconds_sum') * 1000) / (lagCount || NaN),
    vadLagOver100msShare: (lagCount - d('parley_vad_lag_seconds_bucket', 'le="0.1"')) / (lagCount || NaN),
    audioPublishMeanMs: (d('parley_audio_publish_seconds_sum') * 1000) / (d('parley_audio_publish_seconds_count') || NaN),
    backpressureClosed: d('parley_ws_backpressure_closed_total'),
    unhandledRejections: d('parley_unhandled_rejections_total'),
  };
}

export function formatServerFigures(f: ServerFigures): string {
  const n = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  return [
    `Parley process: ${n(f.cpuSeconds)} CPU s (${n(f.cores, 2)} cores busy), event loop lag p99 ${n(f.eventLoopLagP99Ms)} ms, max ${n(f.eventLoopLagMaxMs)} ms; embedded nats-server ${n(f.natsCpuSeconds)} CPU s`,
    `input audio: publish to JetStream mean ${n(f.audioPublishMeanMs)} ms per frame`,
    `VAD stage: mean batch ${n(f.vadBatchMean)} frames, inference ${n(f.vadInferenceUsPerFrame, 0)} us/frame (wall), decision lag mean ${n(f.vadLagMeanMs)} ms, ${n(f.vadLagOver100msShare * 100)}% of frames > 100 ms`,
    `slow clients dropped ${f.backpressureClosed}, unhandled rejections ${f.unhandledRejections}`,
  ].join('\n');
}
